"""PSI: calc_load() and the 2 s averages by hand, /proc/pressure/memory text, triggers."""

from __future__ import annotations

import pytest
from pressure_helpers import hub_of, pressure_sim

from simcore.pressure.notify.psi import FIXED_1, calc_avgs, calc_load, load_str
from simcore.pressure.spec import parse_psi_trigger
from simcore.scenario import ScenarioError, validate_scenario


def test_calc_load_by_hand() -> None:
    # 100 % for one period from 0: (0 * 1677 + 204800 * 371 + 2047) // 2048 = 37100
    assert calc_load(0, 1677, 100 * FIXED_1) == 37100
    # decay with no activity: 37100 * 1677 // 2048 = 30379
    assert calc_load(37100, 1677, 0) == 30379


def test_averages_after_one_fully_stalled_period() -> None:
    avg = [0, 0, 0]
    calc_avgs(avg, stall_us=2_000_000, period_us=2_000_000)
    # avg10: 37100; avg60: 204800*67//2048 + rounding = 6700; avg300: 204800*14//2048 = 1400
    assert avg == [37100, 6700, 1400]
    assert [load_str(a) for a in avg] == ["18.11", "3.27", "0.68"]


def test_half_stalled_period_truncates_to_whole_percent() -> None:
    avg = [0, 0, 0]
    calc_avgs(avg, stall_us=999_999, period_us=2_000_000)  # 49.99995 % -> 49 %
    assert avg[0] == (49 * FIXED_1 * (FIXED_1 - 1677) + FIXED_1 - 1) // FIXED_1


def test_trigger_parsing_bounds() -> None:
    assert parse_psi_trigger("some 150000 1000000") == ("some", 150000, 1000000)
    for bad in ("some 150000 100000", "full 0 1000000", "some 2000000 1000000", "half 1 1000000", "some x y"):
        with pytest.raises(ValueError):
            parse_psi_trigger(bad)
    doc = {"pressure": {"processes": [{"comm": "a", "psi_trigger": "some 1 10"}]}}
    with pytest.raises(ScenarioError, match="psi_trigger"):
        validate_scenario(doc)


def test_stall_accounting_and_trigger_once_per_window() -> None:
    sim = pressure_sim({"processes": [
        {"comm": "a", "anon_pages": 10, "psi_trigger": "some 50000 500000",
         "reactions": [{"on": "psi", "do": "ignore", "cooldown_ticks": 0}]},
        {"comm": "b", "anon_pages": 10},
    ]})
    hub = hub_of(sim)
    sim.run_until(1)
    psi = hub.psi
    a, b = (t.pid for t in hub.tasks.tasks)
    # each tick (10 ms = 10000 us): a stalls 6000 us, b 2000 us -> some 6000, full 2000
    for _ in range(200):
        hub.stall(a, 6000)
        hub.stall(b, 2000)
        sim.step()
    assert psi.total["some"] == 200 * 6000 and psi.total["full"] == 200 * 2000
    # some grows 6000 us per tick: 50000 us within a 500 ms (50-tick) window after 9 ticks; then at
    # most one event per window: ticks 10, 60, 110, 160 of the 200
    fired = [e for e in sim.node.events if e.name == "psi_trigger"]
    assert len(fired) == 4
    assert [e.tick - fired[0].tick for e in fired] == [0, 50, 100, 150]
    assert hub.delivered["psi"] == 4
    # 60 % some over each 2 s period: the text has the kernel's layout
    text = psi.render()
    assert text.startswith("some avg10=") and "\nfull avg10=" in text and f"total={200 * 6000}" in text
