"""ftrace text lines: the trace_pipe layout and each tracepoint's TP_printk format."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from simcore.compaction.events import (
    MmCompactionBegin,
    MmCompactionDeferred,
    MmCompactionEnd,
    MmCompactionFastIsolateFreepages,
    MmCompactionIsolateFreepages,
    MmCompactionKcompactdWake,
    MmCompactionMigratepages,
    MmCompactionSuitable,
    MmCompactionTryToCompactPages,
)
from simcore.events import ActionApplied, Event, MmPageAllocExtfrag
from simcore.pressure.events import (
    DirectReclaimEnd,
    FinishTaskReaping,
    KswapdSleep,
    KswapdWake,
    OomScoreAdjUpdate,
    WakeReaper,
)
from simcore.trace import format_body, format_line, format_trace


def test_line_layout_like_trace_pipe() -> None:
    ev = MmCompactionBegin(1234, 0x0, 0x100, 0x3FE00, 0x40000, True)
    assert format_line(ev, 10) == (
        "           <...>-1234    [000] .....    12.340000: mm_compaction_begin: zone_start=0x0 "
        "migrate_pfn=0x100 free_pfn=0x3fe00 zone_end=0x40000, mode=sync"
    )
    # timestamp = tick * tick_ms / 1000, microsecond resolution
    assert " 0.001000: " in format_line(MmCompactionMigratepages(1, 3, 0), 1)
    assert format_line(ev, 10, comm="kcompactd0", pid=36).startswith("      kcompactd0-36      [000] ")


def test_compaction_formats() -> None:
    assert format_body(MmCompactionEnd(0, 0, 0x200, 0x1000, 0x2000, False, 5)) == (
        "zone_start=0x0 migrate_pfn=0x200 free_pfn=0x1000 zone_end=0x2000, mode=async status=complete"
    )
    assert format_body(MmCompactionIsolateFreepages(0, 0x3FE00, 0x3FE40, 64, 32)) == (
        "range=(0x3fe00 ~ 0x3fe40) nr_scanned=64 nr_taken=32"
    )
    assert format_body(MmCompactionMigratepages(0, 31, 1)) == "nr_migrated=31 nr_failed=1"
    assert (
        format_body(MmCompactionSuitable(0, 0, 2, 9, 0))
        == "node=0 zone=Normal   order=9 ret=not_suitable_zone"
    )
    assert format_body(MmCompactionDeferred(0, 0, 1, 9, 3, 2, 9)) == (
        "node=0 zone=DMA32    order=9 order_failed=9 consider=3 limit=4"
    )
    assert format_body(MmCompactionKcompactdWake(0, 0, 9, 2)) == "nid=0 order=9 classzone_idx=Normal  "


def test_extfrag_format() -> None:
    body = format_body(MmPageAllocExtfrag(0, 0x1234, 0, 3, 0, 1, 1, 1))
    page, rest = body.split(" ", 1)
    assert page.startswith("page=") and len(page) == len("page=") + 16
    assert rest == (
        "pfn=0x1234 alloc_order=0 fallback_order=3 pageblock_order=9 alloc_migratetype=0 "
        "fallback_migratetype=1 fragmenting=1 change_ownership=1"
    )


def test_events_without_a_tracepoint_print_key_values() -> None:
    (line,) = format_trace([ActionApplied(2, "compact", "Normal: complete")], 10)
    assert line.endswith("action: action=compact detail=Normal: complete")


# the print fmt lines of this kernel's tracepoints (tests/data/kernel/format, copied from
# /sys/kernel/tracing/events/*/*/format on Linux 6.18): the model's text must match them
FORMAT_DIR = Path(__file__).resolve().parent / "data" / "kernel" / "format"
_CONVERSIONS = {
    "%d": r"-?\d+", "%lu": r"\d+", "%lx": r"[0-9a-f]+", "%u": r"\d+", "%hd": r"-?\d+", "%s": r"\S+",
}


def print_fmt_regex(name: str) -> re.Pattern[str]:
    text = (FORMAT_DIR / f"{name}.format").read_text()
    fmt = re.search(r'print fmt: "((?:[^"\\]|\\.)*)"', text)
    assert fmt is not None, name
    pattern = re.escape(fmt.group(1))
    for conv, rx in _CONVERSIONS.items():
        pattern = pattern.replace(re.escape(conv), rx)
    return re.compile(pattern)


@pytest.mark.parametrize(
    "ev",
    [
        KswapdWake(0, 0, 2, 3),
        KswapdSleep(0, 0),
        FinishTaskReaping(0, 4321, 2048),
        WakeReaper(0, 4321),
        OomScoreAdjUpdate(0, 4321, "app", -500),
        DirectReclaimEnd(0, 77),
        MmCompactionTryToCompactPages(0, 9, "GFP_TRANSHUGE", 2),
        MmCompactionFastIsolateFreepages(0, 0x1000, 0x40000, 17, 32),
    ],
    ids=lambda ev: ev.name,
)
def test_tracepoints_print_what_the_kernels_format_prints(ev: Event) -> None:
    # vmscan.h mm_vmscan_kswapd_wake records zid but prints nid and order; oom.h finish_task_reaping
    # prints the pid only
    assert print_fmt_regex(ev.name).fullmatch(format_body(ev)), format_body(ev)


def test_direct_compaction_traces_try_to_compact_pages_in_modern_mode_only() -> None:
    # mm/compaction.c try_to_compact_pages(): trace_mm_compaction_try_to_compact_pages(order,
    # gfp_mask, prio) before the zone loop (3.x+); 2.6.35 had no such tracepoint
    from app.presets import load_scenario
    from simcore.simulation import Simulation

    counts = []
    for mode in ("modern", "2.6.35"):
        sim = Simulation(load_scenario("compaction-vs-lumpy", [f"mode={mode!r}", "defrag='compaction'"]))
        sim.run_until(210)
        evs = [e for e in sim.node.events if isinstance(e, MmCompactionTryToCompactPages)]
        counts.append(len(evs))
        assert all(e.order > 0 and e.priority in (0, 1, 2) for e in evs)
    assert counts[0] > 0 and counts[1] == 0


def test_every_fast_free_search_is_traced_from_min_pfn_to_the_free_cursor() -> None:
    # mm/compaction.c fast_isolate_freepages(): trace_mm_compaction_fast_isolate_freepages(min_pfn,
    # cc->free_pfn, nr_scanned, total_isolated) after its search, found or not (5.1+: direct
    # compaction and kcompactd at order > 0)
    from app.presets import load_scenario
    from simcore.simulation import Simulation

    sim = Simulation(load_scenario("compaction-vs-lumpy", ["defrag='compaction'"]))
    sim.run_until(210)
    evs = sim.node.events
    fast = [i for i, e in enumerate(evs) if isinstance(e, MmCompactionFastIsolateFreepages)]
    assert fast
    for i in fast:
        e = evs[i]
        assert e.start_pfn <= e.end_pfn and e.nr_scanned >= 0
        if e.nr_taken:  # what it took came from the isolate_freepages_block() just before
            before = evs[i - 1]
            assert isinstance(before, MmCompactionIsolateFreepages) and before.nr_taken == e.nr_taken
    assert any(evs[i].nr_taken for i in fast)
