"""Where a dashboard run comes from: a preset name or a share-link token, validated and capped."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.ff_cost import ff_refusal
from app.lenses import LENS_NAMES
from app.presets import load_scenario, preset_document, preset_names
from app.shared_keyframes import SharedKeyframes
from simcore import Scenario, ScenarioError, check_node_pages, decode_link

DEFAULT_PRESET = "default"


@dataclass(frozen=True, slots=True)
class Source:
    scenario: Scenario
    start_tick: int
    preset: str | None


def preset_list() -> list[dict[str, str]]:
    out = []
    for name in preset_names():
        doc = preset_document(name)
        out.append({"name": name, "title": str(doc.get("title", "")),
                    "description": str(doc.get("description", ""))})
    return out


def check_view(scenario: Scenario, field: str = "view.lens") -> Scenario:
    """A scenario's `view.lens` must name a lens of this server (app/lenses.py), or be empty."""
    lens = scenario.view.lens
    if lens and lens not in LENS_NAMES:
        raise ScenarioError(f"{field}: unknown lens (got {lens!r}, one of {', '.join(LENS_NAMES)})")
    return scenario


def from_preset(name: str) -> Source:
    """A preset opens at its `view.open_at` tick (where its story is on the map); Reset goes back there."""
    if name not in preset_names():
        raise ScenarioError(f"preset: unknown preset {name[:60]!r}; one of {', '.join(preset_names())}")
    scenario = check_view(load_scenario(name))
    return Source(scenario, scenario.view.open_at, name)


def link_refusal(scenario: Scenario, at: int, cap: int, rate: int, shared: SharedKeyframes | None,
                 field: str = "link") -> str | None:
    """Why this server would refuse to open a run of `scenario` at tick `at`, in words, or None.
    Only the work this server has not done counts: from the nearest shared keyframe on."""
    start = shared.start_tick(scenario, at) if shared is not None else 0
    return ff_refusal(field, start, at, scenario.workload.events_per_tick, cap, rate)


def from_link(token: str, max_ff_work: int, max_node_pages: int = 1 << 24,
              shared: SharedKeyframes | None = None, rate: int = 3_000_000) -> Source:
    scenario, at = decode_link(token)
    check_node_pages(scenario, max_node_pages, "link: node")
    check_view(scenario, "link: view.lens")
    refusal = link_refusal(scenario, at, max_ff_work, rate, shared, "link: at_tick")
    if refusal is not None:
        raise ScenarioError(refusal)
    return Source(scenario, at, None)


def resolve(query: dict[str, Any], max_ff_work: int, max_node_pages: int = 1 << 24,
            shared: SharedKeyframes | None = None, rate: int = 3_000_000) -> Source:
    """The source a page or socket query names (`preset=` or `link=`; neither: the default preset)."""
    preset, link = query.get("preset"), query.get("link")
    if preset is not None and link is not None:
        raise ScenarioError("query: give either preset or link, not both")
    if link is not None:
        return from_link(str(link), max_ff_work, max_node_pages, shared, rate)
    return from_preset(str(preset) if preset is not None else DEFAULT_PRESET)
