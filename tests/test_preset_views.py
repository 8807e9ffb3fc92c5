"""Every preset opens on a picture where its story is visible (issue 11, "Presets tell their story"):
its `[view]` names a lens of this server, and at its `open_at` tick that lens shows more than one
class on the map (before, five of eight presets opened on a uniform map at tick 0)."""

from __future__ import annotations

import numpy as np
import pytest

from app.lenses import LENS_BY_NAME, LENS_NAMES
from app.presets import load_scenario, preset_names
from app.sources import check_view, from_preset
from simcore import ScenarioError, validate_scenario
from simcore.simulation import Simulation


@pytest.mark.parametrize("name", preset_names())
def test_each_preset_opens_on_a_map_that_shows_its_story(name: str) -> None:
    source = from_preset(name)
    view = source.scenario.view
    assert view.lens in LENS_NAMES and source.start_tick == view.open_at
    sim = Simulation(source.scenario)
    sim.run_until(view.open_at)
    frame = sim.frame()
    values = LENS_BY_NAME[view.lens].pageblock(frame, 0, frame.nr_pages >> 9)
    assert len(np.unique(values)) >= 2, (name, view)


def test_a_scenario_at_tick_zero_shows_a_uniform_map() -> None:
    # the other side: what the presets opened on before they had a view
    sim = Simulation(load_scenario("default"))
    frame = sim.frame()
    for lens in LENS_BY_NAME.values():
        assert len(np.unique(lens.pageblock(frame, 0, frame.nr_pages >> 9))) == 1, lens.name


def test_an_unknown_view_lens_is_refused_with_the_known_ones() -> None:
    sc = validate_scenario({"view": {"lens": "rainbow"}})
    want = r"^view.lens: unknown lens \(got 'rainbow', one of migratetype, "
    with pytest.raises(ScenarioError, match=want):
        check_view(sc)
    assert check_view(validate_scenario({"view": {"lens": "free"}})).view.lens == "free"
