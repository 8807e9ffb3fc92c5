"""The /proc/vmstat names the model keeps beyond the compaction and reclaim counters (issue 14, item
13): each counted where the kernel counts it, in the kernel's order (test_procfs.py checks the order
against a real 6.18 file), and absent where the arch or the mode has no such counter."""

from __future__ import annotations

from functools import cache

from zone_helpers import build_node, take_all_free

from app.presets import load_scenario
from simcore.constants import PageKind
from simcore.pressure.install import find as find_pressure
from simcore.procfs import zoneinfo
from simcore.scenario import validate_scenario
from simcore.simulation import Simulation
from simcore.vmevents import EVENT_ITEMS_2_6_35
from simcore.vmstat import STATE_ITEMS_2_6_35, node_vmstat

NEW_NAMES = (
    "nr_free_pages_blocks", "nr_balloon_pages", "pgalloc_device", "allocstall_device", "pglazyfree",
    "pglazyfreed", "thp_fault_alloc", "thp_fault_fallback", "balloon_inflate", "balloon_deflate",
)


@cache
def _preset(name: str) -> Simulation:
    sim = Simulation(load_scenario(name, []))
    sim.run_until(sim.scenario.ticks)
    return sim


def test_nr_free_pages_blocks_counts_free_blocks_of_pageblock_order_and_up() -> None:
    # mm/page_alloc.c __add_to_free_list(): NR_FREE_PAGES_BLOCKS += 1 << order for order >=
    # pageblock_order (isolate lists aside); an order-0 allocation splits an order-10 block into
    # 512 + 256 + ... + 1: the order-9 half still counts, the order-8 and smaller pieces do not
    node = build_node([("Normal", 2048)])
    assert node_vmstat(node)["nr_free_pages_blocks"] == 2048 == node.free_pages
    sid = node.stream(0, "t", PageKind.ANON).sid
    assert node.alloc_pages(0, PageKind.ANON, sid) >= 0
    vm = node_vmstat(node)
    assert vm["nr_free_pages"] == 2047
    assert vm["nr_free_pages_blocks"] == 1024 + 512
    # /proc/zoneinfo prints it per zone, after nr_free_pages (zone_stat_item order)
    lines = zoneinfo(node).splitlines()
    i = lines.index("      nr_free_pages 2047")
    assert lines[i + 1] == "      nr_free_pages_blocks 1536"


def test_thp_fault_alloc_and_fallback_count_huge_class_requests_of_pmd_order() -> None:
    # mm/huge_memory.c do_huge_pmd_anonymous_page(): THP_FAULT_ALLOC for a huge page allocated,
    # THP_FAULT_FALLBACK when none could be (the fault goes on with small pages); only the huge
    # class at HPAGE_PMD_ORDER (9 on x86-64) is a THP, whichever path serves it
    node = build_node([("Normal", 4096)])
    huge = node.stream(0, "thp", PageKind.HUGE).sid
    anon = node.stream(0, "anon", PageKind.ANON).sid
    assert node.alloc_fast(9, PageKind.HUGE, huge) >= 0  # the fast path
    assert node.alloc_pages(9, PageKind.HUGE, huge) >= 0  # the full one
    assert node.alloc_pages(8, PageKind.HUGE, huge) >= 0
    assert node.alloc_pages(9, PageKind.ANON, anon) >= 0
    vm = node_vmstat(node)
    assert (vm["thp_fault_alloc"], vm["thp_fault_fallback"]) == (2, 0)
    take_all_free(node)
    assert node.alloc_pages(9, PageKind.HUGE, huge) < 0
    assert node.alloc_pages(8, PageKind.HUGE, huge) < 0
    assert node.alloc_pages(9, PageKind.ANON, anon) < 0
    vm = node_vmstat(node)
    assert (vm["thp_fault_alloc"], vm["thp_fault_fallback"]) == (2, 1)


def _thp_workload() -> Simulation:
    return Simulation(validate_scenario({
        "node": {"zones": [{"name": "Normal", "pages": 32768}]},
        "workload": {"events_per_tick": 200, "target_occupancy": 0.5, "streams": [
            {"name": "thp", "class": "huge", "orders": {"9": 1}, "weight": 0.1},
            {"name": "anon", "class": "anon", "orders": {"0": 1, "9": 1}, "lifetime": 20},
        ]},
    }))


def test_thp_fault_alloc_counts_the_compiled_workload_loop_too() -> None:
    # the workload's events run compiled (simcore.kernels.alloc.run_events -> alloc_fast); the same
    # run through the Python reference loop, each successful huge-class order-9 request counted by
    # hand, gives the same count (and the anon stream's order-9 requests are not THPs)
    compiled = _thp_workload()
    compiled.run_until(20)
    reference = _thp_workload()
    node = reference.node
    seen = {"thp": 0}
    fast, full = node.alloc_pages_fast, node.alloc_pages

    def counted(fn):  # type: ignore[no-untyped-def]
        def call(order: int, kind: int, sid: int) -> int:
            pfn: int = fn(order, kind, sid)
            seen["thp"] += pfn >= 0 and kind == PageKind.HUGE and order == 9
            return pfn
        return call

    node.alloc_pages_fast = counted(fast)  # type: ignore[method-assign]
    node.alloc_pages = counted(full)  # type: ignore[method-assign]
    for _ in range(20):
        reference.tick += 1
        node.tick = reference.tick
        reference.workload.run_tick_reference()
    assert compiled.node.nr_alloc_fast[9] > 0
    assert compiled.vmstat()["thp_fault_alloc"] == seen["thp"] == reference.vmstat()["thp_fault_alloc"] > 0
    assert seen["thp"] < compiled.node.alloc_stats().successes[9]


def test_balloon_counts_follow_the_oom_notifiers_balloon() -> None:
    # mm/balloon_compaction.c: BALLOON_INFLATE and NR_BALLOON_PAGES per page enqueued,
    # BALLOON_DEFLATE per page dequeued (virtio_balloon's OOM notifier leaks pages back)
    sim = _preset("embedded-options")
    hub = find_pressure(sim)
    assert hub is not None
    vm = sim.vmstat()
    balloon = sim.node.streams[hub.oom.balloon_sid]
    assert vm["balloon_inflate"] == sim.scenario.pressure.oom.notifier_pages == 2048
    assert vm["balloon_deflate"] == hub.oom.notifier_freed > 0
    assert vm["nr_balloon_pages"] == balloon.nr_pages == 2048 - hub.oom.notifier_freed
    # no balloon, no counts
    other = _preset("oom-score-adj").vmstat()
    assert other["balloon_inflate"] == other["balloon_deflate"] == other["nr_balloon_pages"] == 0


def test_lazyfree_counts_are_the_reports() -> None:
    # mm/swap.c lru_lazyfree(): PGLAZYFREE per page MADV_FREEd; mm/vmscan.c shrink_folio_list():
    # PGLAZYFREED per lazily freed page reclaimed without swap-out
    sim = _preset("embedded-options")
    hub = find_pressure(sim)
    assert hub is not None
    vm = sim.vmstat()
    assert vm["pglazyfree"] > 0
    assert vm["pglazyfree"] == sim.node.vm_events["pglazyfree"]
    assert vm["pglazyfreed"] == sim.node.vm_events["pglazyfreed"] <= vm["pglazyfree"]


def test_device_zone_counters_only_where_the_arch_has_the_zone() -> None:
    # CONFIG_ZONE_DEVICE (x86-64): pgalloc_device and allocstall_device print 0 (no buddy
    # allocation is ever served from ZONE_DEVICE); x86-32 has no Device zone type
    vm64 = _preset("default").vmstat()
    assert vm64["pgalloc_device"] == vm64["allocstall_device"] == 0
    names = list(vm64)
    assert names.index("pgalloc_movable") + 1 == names.index("pgalloc_device")
    s = Simulation(validate_scenario({
        "node": {"arch": "x86_32", "zones": [
            {"name": "DMA", "pages": 4096},
            {"name": "Normal", "pages": 8192},
        ]},
        "workload": {"events_per_tick": 10},
    }))
    s.run_until(2)
    vm32 = s.vmstat()
    assert "pgalloc_device" not in vm32 and "allocstall_device" not in vm32
    assert "pgalloc_movable" in vm32


def test_the_2_6_35_mode_prints_none_of_the_later_names() -> None:
    sim = Simulation(load_scenario("default", ["mode='2.6.35'"]))
    sim.run_until(3)
    vm = sim.vmstat()
    assert not set(NEW_NAMES) & set(vm)
    assert list(vm) == [*STATE_ITEMS_2_6_35, *(n for n in EVENT_ITEMS_2_6_35 if n != "pgalloc_high")]
    modern = _preset("default").vmstat()
    assert set(NEW_NAMES) <= set(modern)
