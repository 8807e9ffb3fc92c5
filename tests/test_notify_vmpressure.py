"""vmpressure: the level formula at its boundaries, the 512-page window, the priority shortcut."""

from __future__ import annotations

from pressure_helpers import hub_of, pressure_sim

from simcore.pressure.events import VmpressureEvent
from simcore.pressure.install import Pressure
from simcore.pressure.notify.vmpressure import VMPRESSURE_WIN, Vmpressure, vmpressure_calc_level
from simcore.simulation import Simulation


def test_window_is_512_pages() -> None:
    assert VMPRESSURE_WIN == 512


def test_levels_at_59_60_94_95() -> None:
    # scanned 512, reclaimed 205: scale 717; 205*717//512 = 287; (717-287)*100//717 = 43000//717 = 59
    assert vmpressure_calc_level(512, 205) == (59, "low")
    # reclaimed 204: scale 716; 204*716//512 = 285; 431*100//716 = 60
    assert vmpressure_calc_level(512, 204) == (60, "medium")
    # reclaimed 26: scale 538; 26*538//512 = 27; 511*100//538 = 94
    assert vmpressure_calc_level(512, 26) == (94, "medium")
    # reclaimed 25: scale 537; 25*537//512 = 26; 511*100//537 = 95
    assert vmpressure_calc_level(512, 25) == (95, "critical")


def test_all_reclaimed_is_zero_pressure() -> None:
    assert vmpressure_calc_level(512, 512) == (0, "low")
    assert vmpressure_calc_level(512, 600) == (0, "low")
    assert vmpressure_calc_level(512, 0) == (100, "critical")


def _listener_sim() -> tuple[Simulation, Pressure]:
    react = [{"on": "vmpressure_medium", "do": "ignore", "cooldown_ticks": 0}]
    sim = pressure_sim({"notify": {"vmpressure": {"enabled": True}},
                        "processes": [{"comm": "app", "anon_pages": 10, "reactions": react}]})
    sim.run_until(2)
    return sim, hub_of(sim)


def test_window_accumulates_then_reports_once() -> None:
    sim, hub = _listener_sim()
    vp = hub.vmpressure
    assert isinstance(vp, Vmpressure)
    vp.account(300, 120)
    assert vp.windows == {"low": 0, "medium": 0, "critical": 0}  # window not closed yet
    vp.account(212, 84)  # 512 scanned, 204 reclaimed -> 60, medium
    assert vp.windows == {"low": 0, "medium": 1, "critical": 0}
    assert (vp.scanned, vp.reclaimed) == (0, 0)
    ev = [e for e in sim.node.events if isinstance(e, VmpressureEvent)]
    assert [(e.level, e.pressure, e.scanned, e.reclaimed) for e in ev] == [("medium", 60, 512, 204)]
    # a "medium" listener heard it; a low window would not reach it
    assert hub.delivered == {"vmpressure_medium": 1}
    vp.account(512, 205)
    assert hub.delivered == {"vmpressure_medium": 1}


def test_priority_3_or_less_is_critical() -> None:
    _, hub = _listener_sim()
    vp = hub.vmpressure
    assert isinstance(vp, Vmpressure)
    vp.prio(4)
    assert vp.windows["critical"] == 0
    vp.prio(3)
    assert vp.windows["critical"] == 1
    assert hub.delivered == {"vmpressure_medium": 1}
