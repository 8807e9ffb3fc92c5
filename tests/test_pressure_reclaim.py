"""Reclaim: kswapd to the high watermark, direct reclaim, swap, referenced pages, MADV_FREE vs DONTNEED."""

from __future__ import annotations

from typing import Any

from pressure_helpers import hub_of, pressure_sim, run_checked

from simcore.actions import TimelineEntry
from simcore.constants import PageKind
from simcore.pressure.spec import MadviseAction
from simcore.scenario import Scenario
from simcore.simulation import Simulation


def _vm(sim: Simulation) -> dict[str, int]:
    return sim.vmstat()


def test_no_pressure_table_installs_nothing() -> None:
    sim = Simulation(Scenario())
    assert sim.node.hooks.reclaim is None and sim.node.hooks.oom is None  # type: ignore[attr-defined]
    assert not any(type(s).__name__ == "Pressure" for s in sim.subsystems)


READER = {"comm": "reader", "file_pages": 5000, "rate": 1000}
GROWER = {"comm": "grower", "anon_pages": 4500, "rate": 300, "start_tick": 10}


def test_kswapd_reclaims_page_cache_up_to_the_high_watermark() -> None:
    sim = pressure_sim({"processes": [READER, GROWER]})
    run_checked(sim, 60)
    vm = _vm(sim)
    ev = sim.node.event_counts
    assert ev["mm_vmscan_kswapd_wake"] >= 1 and vm["pageoutrun"] == ev["mm_vmscan_kswapd_wake"]
    assert 0 < vm["pgsteal_kswapd"] <= vm["pgscan_kswapd"]
    assert vm["pgscan_file"] >= vm["pgsteal_file"] > 0 and vm["pgscan_anon"] == 0  # no swap: no anon scan
    assert vm["pswpout"] == 0
    hub = hub_of(sim)
    if not hub.reclaim.kswapd_awake:  # asleep again: every zone is above its high watermark
        assert all(z.free_pages > z.wmark_high for z in sim.node.zones)
    assert ev.get("mm_vmscan_kswapd_sleep", 0) >= ev["mm_vmscan_kswapd_wake"] - 1


def test_direct_reclaim_without_kswapd() -> None:
    sim = pressure_sim({"reclaim": {"kswapd": False}, "processes": [READER, GROWER]})
    run_checked(sim, 60)
    vm = _vm(sim)
    ev = sim.node.event_counts
    assert "mm_vmscan_kswapd_wake" not in ev
    begin, end = ev["mm_vmscan_direct_reclaim_begin"], ev["mm_vmscan_direct_reclaim_end"]
    assert vm["allocstall_normal"] == begin == end > 0
    assert 0 < vm["pgsteal_direct"] <= vm["pgscan_direct"] and vm["pgscan_kswapd"] == 0
    # the grower got everything it asked for: page cache made room
    grower = hub_of(sim).tasks.tasks[1]
    assert hub_of(sim).tasks.anon_rss(grower) == 4500


def test_anon_goes_to_swap_and_is_charged_to_its_owner() -> None:
    procs: list[dict[str, Any]] = [{"comm": "idle", "anon_pages": 3000, "rate": 1000},
                                   {"comm": "busy", "anon_pages": 6000, "anon_working_set": 6000, "rate": 200,
                                    "start_tick": 5}]
    sim = pressure_sim({"swap_pages": 4096, "processes": procs})
    run_checked(sim, 60)
    hub = hub_of(sim)
    vm = _vm(sim)
    idle, busy = hub.tasks.tasks
    assert vm["pswpout"] > 0 and vm["pgsteal_anon"] == vm["pswpout"]
    assert hub.swap.used == vm["pswpout"] == hub.tasks.swap_pages(idle) + hub.tasks.swap_pages(busy)
    # busy keeps touching all of its pages: the swapped pages are idle's
    assert hub.tasks.swap_pages(idle) > hub.tasks.swap_pages(busy)
    # swap counts in the badness
    assert hub.oom.badness(idle.pid) == (hub.tasks.anon_rss(idle) + hub.tasks.swap_pages(idle)
                                         + hub.tasks.pages(idle, "pgtable"))


def test_working_set_makes_reclaim_inefficient_and_vmpressure_critical() -> None:
    hot = dict(READER, file_working_set=5000)
    sim = pressure_sim({"notify": {"vmpressure": {"enabled": True}}, "processes": [hot, GROWER]})
    sim.run_until(60)
    hub = hub_of(sim)
    assert hub.vmpressure is not None
    w = hub.vmpressure.windows
    assert w["critical"] > 0 and w["critical"] >= w["low"]
    cold = pressure_sim({"notify": {"vmpressure": {"enabled": True}}, "processes": [READER, GROWER]})
    cold.run_until(60)
    cw = hub_of(cold).vmpressure.windows  # type: ignore[union-attr]
    assert cw["low"] > cw["critical"]


def _madvise_sim(advice: str) -> Simulation:
    procs = [{"comm": "player", "anon_pages": 500, "cache_pages": 3000, "rate": 1000},
             {"comm": "grower", "anon_pages": 5000, "rate": 200, "start_tick": 10}]
    timeline = [TimelineEntry(at=5, action=MadviseAction(comm="player", advice=advice, percent=100))]  # type: ignore[arg-type]
    return pressure_sim({"swap_pages": 8192, "processes": procs},
                        timeline=[e.model_dump() for e in timeline])


def test_madv_free_pages_are_dropped_by_reclaim_without_io() -> None:
    sim = _madvise_sim("free")
    sim.run_until(5)
    assert sim.node.nr_kind_pages[PageKind.LAZYFREE] == 3000  # marked, still allocated
    free_before = sim.node.free_pages
    run_checked(sim, 55)
    vm = _vm(sim)
    assert sim.node.vm_events["pglazyfreed"] > 0
    assert vm["pswpout"] == 0  # dropped without swap I/O although swap is available
    assert sim.node.free_pages < free_before + 3000


def test_madv_dontneed_frees_at_once() -> None:
    sim = _madvise_sim("dontneed")
    sim.run_until(4)
    free = sim.node.free_pages
    sim.run_until(5)
    assert sim.node.free_pages >= free + 3000 - 1000  # given back at once (the player's next tick aside)
    assert sim.node.nr_kind_pages[PageKind.LAZYFREE] == 0


def test_a_write_cancels_madv_free() -> None:
    procs = [{"comm": "player", "anon_pages": 100, "cache_pages": 1000, "rate": 2000}]
    timeline = [{"at": 3, "action": {"type": "madvise", "comm": "player", "advice": "free", "percent": 100,
                                          "hold_ticks": 0}}]
    sim = pressure_sim({"processes": procs}, timeline=timeline)
    sim.run_until(3)
    assert sim.node.nr_kind_pages[PageKind.LAZYFREE] == 1000
    pgalloc = sim.node.zones[0].pgalloc
    sim.run_until(4)  # the cache grows back: it writes its lazily freed pages first
    assert sim.node.nr_kind_pages[PageKind.LAZYFREE] == 0
    assert sim.node.zones[0].pgalloc == pgalloc  # no new page was needed
