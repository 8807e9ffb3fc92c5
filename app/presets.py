"""Scenario documents from the outside world: presets (package data), TOML files, share links.

The core never reads a file: it validates documents (`simcore.scenario.scenario_from_document`).
This module finds them: the presets are the `*.toml` files of the data package `app.scenarios`
(the repository's top-level `scenarios/`, installed with the wheel), read with importlib.resources;
a path ending in `.toml` (or naming a file) is read from disk; a share link or its bare token is
decoded by `simcore.link`.
"""

from __future__ import annotations

import functools
import stat
from importlib import resources
from pathlib import Path
from typing import Any

from simcore import Scenario, ScenarioError, is_link, link_document, parse_toml, scenario_from_document

#: the data package holding the presets
PRESET_PACKAGE = "app.scenarios"


def preset_names() -> list[str]:
    """The presets' names (file stems), sorted."""
    return list(_preset_names())


@functools.cache
def _preset_names() -> tuple[str, ...]:
    files = resources.files(PRESET_PACKAGE).iterdir()
    return tuple(sorted(f.name.removesuffix(".toml") for f in files if f.name.endswith(".toml")))


def preset_document(name: str) -> dict[str, Any]:
    """The raw document of preset `name`."""
    if name not in preset_names():
        raise ScenarioError(f"preset: unknown preset {name[:60]!r}; one of {', '.join(preset_names())}")
    text = resources.files(PRESET_PACKAGE).joinpath(f"{name}.toml").read_text(encoding="utf-8")
    return parse_toml(text, f"preset {name}")


#: the largest scenario file read (bytes); a scenario with a full timeline is about 130 kB
MAX_FILE_BYTES = 1 << 20


def read_toml(path: Path) -> dict[str, Any]:
    """The raw document of a scenario file: a regular file (not a device, FIFO or directory, also
    through a symlink) of at most MAX_FILE_BYTES."""
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            raise ScenarioError(f"{path}: not a regular file (a scenario file is a .toml text file)")
        if st.st_size > MAX_FILE_BYTES:
            raise ScenarioError(f"{path}: file too large (got {st.st_size} bytes, cap {MAX_FILE_BYTES})")
        with path.open("rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        raise ScenarioError(f"{path}: cannot read ({err.strerror})") from None
    if len(raw) > MAX_FILE_BYTES:  # it grew since stat()
        raise ScenarioError(f"{path}: file too large (cap {MAX_FILE_BYTES} bytes)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ScenarioError(f"{path}: not valid TOML ({err})") from None
    return parse_toml(text, str(path))


def load_document(source: str) -> dict[str, Any]:
    """The raw document for a preset name, a .toml path, or a share link / token."""
    if is_link(source):
        return link_document(source)
    path = Path(source)
    try:
        named_file = source.endswith(".toml") or path.is_file()
    except OSError:  # a name the file system refuses (too long, say): not a file
        named_file = False
    if named_file:
        return read_toml(path)
    if source in preset_names():
        return preset_document(source)
    shown = f"{source[:80]!r}{'...' if len(source) > 80 else ''}"
    raise ScenarioError(
        f"scenario {shown}: not a preset ({', '.join(preset_names())}), a .toml file or a share link"
    )


def load_scenario(source: str, overrides: list[str] | None = None, seed: int | None = None) -> Scenario:
    """A validated scenario from a preset name, a .toml path or a share link, after `--set`
    overrides and an explicit seed."""
    return scenario_from_document(load_document(source), overrides, seed)
