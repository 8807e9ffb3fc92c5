"""Shared fixtures: the real kernel samples, hypothesis profiles. Node-building helpers are in
zone_helpers.py (a conftest cannot be imported by name: tests/browser has its own)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

KERNEL_DATA = Path(__file__).resolve().parent / "data" / "kernel"

# Hypothesis: no deadline (timings vary on a shared 2-core machine); "ci" derandomizes so that a
# red run repeats. ZONESCOPE_HYPOTHESIS_PROFILE=dev explores new examples on every run.
settings.register_profile("ci", deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("ZONESCOPE_HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def kernel_sample() -> Callable[[str], str]:
    """The text of a file recorded from a real kernel (tests/data/kernel/<name>.txt)."""

    def read(name: str) -> str:
        return (KERNEL_DATA / f"{name}.txt").read_text(encoding="utf-8")

    return read


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the browser tests last, keeping every other order as collected.

    Playwright's sync API keeps an asyncio event loop running in the main thread while its
    session-scoped browser is open; a later test calling asyncio.run() would fail with "cannot be
    called from a running event loop".
    """
    def is_browser(item: pytest.Item) -> bool:
        return item.get_closest_marker("browser") is not None or "browser" in item.path.parts

    items.sort(key=is_browser)
