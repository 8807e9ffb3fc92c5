"""The two thresholds: edge-triggered crossing with a 1/8 re-arm, and MemAvailable."""

from __future__ import annotations

from pressure_helpers import hub_of, pressure_sim

from simcore.pressure.meminfo import si_mem_available, totalreserve_pages
from simcore.pressure.notify.thresholds import crossed


def test_crossing_fires_once_and_rearms_an_eighth_above() -> None:
    armed = True
    fired = []
    for v in (900, 799, 700, 850, 899, 900, 790):  # threshold 800: re-arm at 800 + 100
        fire, armed = crossed(v, 800, armed)
        fired.append(fire)
    assert fired == [False, True, False, False, False, False, True]


def test_mem_available_by_hand() -> None:
    sim = pressure_sim({"processes": [{"comm": "a", "file_pages": 1000, "anon_pages": 500, "rate": 2000}]})
    sim.run_until(2)
    node = sim.node
    z = node.zones[0]
    # free - totalreserve + file - min(file / 2, wmark_low); no reclaimable slab
    want = node.free_pages - (max(z.lowmem_reserve) + z.watermark[2]) + 1000 - min(500, z.watermark[1])
    assert totalreserve_pages(node) == max(z.lowmem_reserve) + z.watermark[2]
    assert si_mem_available(node) == want


def test_about_to_swap_then_about_to_oom() -> None:
    procs = [{"comm": "grow", "anon_pages": 7800, "rate": 200,
              "reactions": [{"on": "about_to_swap", "do": "ignore"}, {"on": "about_to_oom", "do": "exit"}]}]
    sim = pressure_sim({"notify": {"thresholds": {"enabled": True, "about_to_swap_percent": 20,
                                                  "about_to_oom_percent": 8}}, "processes": procs})
    hub = hub_of(sim)
    sim.run_until(60)
    levels = [(e.level, e.tick) for e in sim.node.events if e.name == "mem_threshold"]  # type: ignore[attr-defined]
    assert [lv for lv, _ in levels] == ["about_to_swap", "about_to_oom"]
    assert levels[0][1] < levels[1][1]
    assert hub.tasks.tasks[0].state == "dead" and hub.tasks.tasks[0].exit_reason == "exit"
    assert "mark_victim" not in sim.node.event_counts
