"""The core's one error for bad input: a scenario, link, document or argument that is not valid."""

from __future__ import annotations


class ScenarioError(ValueError):
    """A scenario could not be read or did not validate. The message names the field and the limit."""
