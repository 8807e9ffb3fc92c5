"""ftrace text lines: the trace_pipe layout and each tracepoint's TP_printk format."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from simcore.compaction.events import (
    MmCompactionBegin,
    MmCompactionDeferCompaction,
    MmCompactionDeferred,
    MmCompactionDeferReset,
    MmCompactionEnd,
    MmCompactionFastIsolateFreepages,
    MmCompactionFinished,
    MmCompactionIsolateFreepages,
    MmCompactionIsolateMigratepages,
    MmCompactionKcompactdSleep,
    MmCompactionKcompactdWake,
    MmCompactionMigratepages,
    MmCompactionSuitable,
    MmCompactionTryToCompactPages,
    MmCompactionWakeupKcompactd,
)
from simcore.events import ActionApplied, Event, MmPageAllocExtfrag
from simcore.pressure.events import (
    DirectReclaimBegin,
    DirectReclaimEnd,
    FinishTaskReaping,
    KswapdSleep,
    KswapdWake,
    MarkVictim,
    OomScoreAdjUpdate,
    WakeReaper,
)
from simcore.tasks import Task
from simcore.trace import (
    EVENT_NS,
    PTR_KEY,
    VMEMMAP_START,
    event_time_ns,
    format_body,
    format_line,
    format_trace,
    page_address,
    ptr_hash,
    siphash_1u64,
)


def _stamped(ev: Event, seq: int, task: Task) -> Event:
    """`ev` as `Node.emit()` leaves it: its place in the tick and the task it ran in."""
    ev.seq = seq
    ev.task = task
    return ev


def test_lines_are_the_real_trace_pipe_lines(kernel_sample: Callable[[str], str]) -> None:
    # kernel/trace/trace_output.c trace_print_context(): "%16s-%-7d [%03d] <5 flags> %5lu.%06lu: ";
    # lines of a real 6.18 trace (tests/data/kernel/trace_pipe.txt), rebuilt from their fields: the
    # time is tick 54232 of 1000 ms plus the event's place in it, in microseconds
    real = kernel_sample("trace_pipe").splitlines()
    bash = Task("bash", 26765, 1)
    begin = _stamped(MmCompactionBegin(54232, 0x1, 0x1, 0xE00, 0x1000, True), 285743, bash)
    assert format_line(begin, 1000) == real[0]
    sleep = _stamped(MmCompactionKcompactdSleep(54232, 0), 434336, Task("kcompactd0", 36, 0))
    assert format_line(sleep, 1000) == real[4]
    # mm/page_alloc.c rmqueue_bulk(): an order-0 fallback under the pcp and zone locks, irqs off
    # (54271.512408 s is the 409th event of a 2 ms tick: 27135756 x 2 ms + 408 us)
    ev = _stamped(MmPageAllocExtfrag(27135756, 0x1A1000, 0, 10, 2, 1, 0, 1), 408, Task("python3", 26894, 1))
    line = format_line(ev, 2)
    # the hashed pointer differs (ptr_key is random at every boot): the rest is the same
    hashed = re.compile(r"page=00000000[0-9a-f]{8} ")
    assert hashed.sub("page=PTR ", line) == hashed.sub("page=PTR ", real[5])
    assert line != real[5]


def test_an_event_no_node_emitted_prints_an_unknown_task() -> None:
    # ftrace prints "<...>" for a pid whose comm it has not saved
    line = format_line(MmCompactionMigratepages(1, 3, 0), 1)
    assert line.startswith("           <...>-0       [000] ..... ")


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
    assert page == "page=" + ptr_hash(VMEMMAP_START + 0x1234 * 64)
    assert rest == (
        "pfn=0x1234 alloc_order=0 fallback_order=3 pageblock_order=9 alloc_migratetype=0 "
        "fallback_migratetype=1 fragmenting=1 change_ownership=1"
    )


def test_siphash_is_the_kernels() -> None:
    # lib/tests/siphash_kunit.c: test_key_siphash {0x0706050403020100, 0x0f0e0d0c0b0a0908} and
    # test_vectors_siphash[8] for the 8-byte input 00 01 .. 07 (what siphash_1u64() hashes)
    key = (0x0706050403020100, 0x0F0E0D0C0B0A0908)
    assert siphash_1u64(0x0706050403020100, key) == 0x93F5F5799A932462
    assert siphash_1u64(0x0706050403020101, key) != 0x93F5F5799A932462


def test_percent_p_prints_the_low_32_bits_of_the_hash_on_16_digits() -> None:
    # lib/vsprintf.c __ptr_to_hashval(): siphash_1u64(ptr, &ptr_key) & 0xffffffff on 64-bit, printed
    # by pointer_string() with the width of a pointer: "00000000" + 8 hex digits, never the address
    addr = page_address(0x1234)
    assert addr == VMEMMAP_START + 0x1234 * 64
    text = ptr_hash(addr)
    assert re.fullmatch(r"00000000[0-9a-f]{8}", text)
    assert int(text, 16) == siphash_1u64(addr, PTR_KEY) & 0xFFFFFFFF
    assert text != f"{addr:016x}"[-16:]
    # deterministic (a fixed boot key), and one struct page apart is another id
    assert ptr_hash.__wrapped__(addr) == text
    assert ptr_hash(page_address(0x1235)) != text


@pytest.mark.parametrize(
    ("order", "flags"),
    [(0, "d..3."), (3, "d..3."), (4, "d..1."), (8, "d..1."), (9, "d..3."), (10, "d..1.")],
)
def test_extfrag_flags_follow_the_locks_of_the_allocation_path(order: int, flags: str) -> None:
    # mm/page_alloc.c rmqueue(): pcp_allowed_order() (<= PAGE_ALLOC_COSTLY_ORDER, or pageblock_order
    # with THP) goes through rmqueue_pcplist() -> rmqueue_bulk(): pcp pin + pcp lock + zone->lock
    # with irqs off, "d..3." in a real trace; rmqueue_buddy() holds zone->lock alone: "d..1."
    ev = MmPageAllocExtfrag(1, 0x400, order, 10, 0, 1, 0, 1)
    assert format_line(ev, 10).split("] ")[1].startswith(flags + " ")


def test_only_tracepoints_fired_under_a_lock_print_flags() -> None:
    # mm/oom_kill.c __oom_kill_process(): mark_oom_victim() under task_lock(victim); compaction
    # traces after dropping its locks (isolate_freepages_block(), isolate_migratepages_block())
    victim = MarkVictim(1, 7, "batch", 4, 4, 0, 0, 0, 4, 0, 1)
    assert " ...1. " in format_line(victim, 10)
    assert " ..... " in format_line(MmCompactionIsolateFreepages(1, 0, 0x20, 32, 32), 10)
    assert " ..... " in format_line(ActionApplied(1, "compact", ""), 10)


def _at(tick: int, seq: int, tick_ms: int) -> int:
    ev = ActionApplied(tick, "x", "")
    ev.seq = seq
    return event_time_ns(ev, tick_ms)


def test_trace_clock_starts_at_the_tick_and_steps_one_microsecond() -> None:
    # the first event of tick 7 (10 ms ticks) is at 70 ms, the next 1 us later, in ftrace's
    # microsecond print; up to half the tick the events stay EVENT_NS apart
    assert _at(7, 0, 10) == 70_000_000
    assert _at(7, 1, 10) - _at(7, 0, 10) == EVENT_NS == 1000
    assert _at(7, 5000, 10) == 75_000_000
    assert _at(7, 5001, 10) - _at(7, 5000, 10) < EVENT_NS
    ev = ActionApplied(7, "x", "")
    ev.seq = 2
    assert " 0.070002: " in format_line(ev, 10)


@pytest.mark.parametrize("tick_ms", [1, 10, 1000])
def test_trace_clock_never_reaches_the_next_tick(tick_ms: int) -> None:
    tick_ns = tick_ms * 1_000_000
    for seq in (0, 1, 10**3, 10**5, 10**7, 10**12):
        t = _at(3, seq, tick_ms)
        assert 3 * tick_ns <= t < 4 * tick_ns
    assert _at(3, 10**12, tick_ms) < _at(4, 0, tick_ms)


def test_trace_clock_is_strictly_increasing_within_a_tick_then_monotonic() -> None:
    # 1 ms ticks: s0 = 500 events 1 us apart, then strictly increasing to the ns up to 31 * s0
    times = [_at(0, seq, 1) for seq in range(40 * 500)]
    first_tie = next(i for i in range(1, len(times)) if times[i] == times[i - 1])
    assert first_tie > 31 * 500
    assert all(b >= a for a, b in itertools.pairwise(times))


def test_events_without_a_tracepoint_print_key_values() -> None:
    (line,) = format_trace([ActionApplied(2, "compact", "Normal: complete")], 10)
    assert line.endswith("action: action=compact detail=Normal: complete")


# the print fmt lines of this kernel's tracepoints (tests/data/kernel/format, copied from
# /sys/kernel/tracing/events/*/*/format on Linux 6.18): the model's text must match them
FORMAT_DIR = Path(__file__).resolve().parent / "data" / "kernel" / "format"
_CONVERSIONS = {
    "%d": r"-?\d+", "%lu": r"\d+", "%lx": r"[0-9a-f]+", "%u": r"\d+", "%hd": r"-?\d+", "%s": r"\S+",
    # a %p pointer on x86-64: the low 32 bits of the hash, zero-padded to 16 digits
    "%p": r"00000000[0-9a-f]{8}",
    # left-aligned in 8 columns
    "%-8s": "(?:\\S{8,}|" + "|".join(f"\\S{{{k}}} {{{8 - k}}}" for k in range(1, 8)) + ")",
}
#: the trace_pipe prefix (kernel/trace/trace_output.c trace_print_context())
PREFIX = re.compile(r"^ *\S+-\d+ +\[\d{3}\] [.dDbBnNhHsSzZ0-9]{5} +\d+\.\d{6}: (\w+): (.*)$")
#: events with no kernel tracepoint (zonescope's own names, listed in docs/fidelity.md): key=value
OWN_EVENTS = {
    "action", "page_alloc_fail", "oom_notify", "oom_no_victim", "vm_enough_memory_fail",
    "pressure_notify", "mem_threshold", "sigdanger", "lowmem_state", "mem_notify", "vmpressure",
    "psi_trigger", "task_reaction", "task_start", "task_exit", "madvise",
}
#: printed in a layout of another release than 6.18 (docs/fidelity.md): 2.6.36-3.2's lumpy counts
OLD_LAYOUT = {"mm_vmscan_lru_isolate"}


def print_fmt_regex(name: str) -> re.Pattern[str]:
    text = (FORMAT_DIR / f"{name}.format").read_text()
    fmt = re.search(r'print fmt: "((?:[^"\\]|\\.)*)"', text)
    assert fmt is not None, name
    pattern = re.escape(fmt.group(1))
    for conv, rx in _CONVERSIONS.items():
        pattern = pattern.replace(re.escape(conv), rx)
    return re.compile(pattern)


def _event_classes() -> list[type[Event]]:
    out: list[type[Event]] = []
    todo = [Event]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if sub.name != "event":
                out.append(sub)
    return out


def test_every_event_is_a_checked_tracepoint_or_zonescopes_own() -> None:
    # a new event class must be either a kernel tracepoint with its format file here, or one of
    # zonescope's own names (printed key=value)
    formats = {p.name.removesuffix(".format") for p in FORMAT_DIR.glob("*.format")}
    names = {cls.name for cls in _event_classes()}
    assert names - formats - OWN_EVENTS - OLD_LAYOUT == set()
    assert not formats & OWN_EVENTS
    assert "mm_page_alloc_extfrag" in names & formats


@pytest.mark.parametrize(
    "ev",
    [
        KswapdWake(0, 0, 2, 3),
        KswapdSleep(0, 0),
        FinishTaskReaping(0, 4321, 2048),
        WakeReaper(0, 4321),
        OomScoreAdjUpdate(0, 4321, "app", -500),
        DirectReclaimBegin(0, 3, "GFP_KERNEL"),
        DirectReclaimEnd(0, 77),
        MarkVictim(0, 7, "batch", 128000, 120000, 4, 0, 0, 256, 300, 1234),
        MmCompactionTryToCompactPages(0, 9, "GFP_TRANSHUGE", 2),
        MmCompactionFastIsolateFreepages(0, 0x1000, 0x40000, 17, 32),
        MmCompactionBegin(0, 0x1000, 0x1000, 0xFFE00, 0x100000, False),
        MmCompactionEnd(0, 0, 0x200, 0x1000, 0x2000, True, 6),
        MmCompactionIsolateMigratepages(0, 0x200, 0x220, 32, 32),
        MmCompactionIsolateFreepages(0, 0x3FE00, 0x3FE40, 64, 32),
        MmCompactionMigratepages(0, 31, 1),
        MmCompactionFinished(0, 0, 1, -1, 4),
        MmCompactionSuitable(0, 0, 2, 9, 0),
        MmCompactionDeferred(0, 0, 0, 9, 3, 2, 9),
        MmCompactionDeferCompaction(0, 0, 2, 3, 0, 1, 3),
        MmCompactionDeferReset(0, 0, 2, 9, 0, 0, 10),
        MmCompactionWakeupKcompactd(0, 0, 9, 2),
        MmCompactionKcompactdWake(0, 0, 4, 1),
        MmCompactionKcompactdSleep(0, 0),
        MmPageAllocExtfrag(0, 0x3FC00, 3, 10, 0, 1, 0, 1),
    ],
    ids=lambda ev: ev.name,
)
def test_tracepoints_print_what_the_kernels_format_prints(ev: Event) -> None:
    # vmscan.h mm_vmscan_kswapd_wake records zid but prints nid and order; oom.h finish_task_reaping
    # prints the pid only, mark_victim the sizes in kB without the points
    assert print_fmt_regex(ev.name).fullmatch(format_body(ev)), format_body(ev)


@pytest.mark.parametrize("preset", ["compaction-vs-lumpy", "oom-score-adj", "embedded-options"])
def test_every_line_of_a_run_is_a_trace_pipe_line_with_the_kernels_body(preset: str) -> None:
    # every event a run emits, printed whole: the trace_pipe prefix, then the tracepoint's print fmt
    # (or key=value for zonescope's own events)
    from app.presets import load_scenario
    from simcore.simulation import Simulation

    sc = load_scenario(preset, [])
    sim = Simulation(sc)
    sim.run_until(sc.ticks)
    lines = format_trace(sim.node.events, sc.tick_ms)
    assert lines
    checked = set()
    for line in lines:
        m = PREFIX.match(line)
        assert m is not None, line
        name, body = m.groups()
        if name in OWN_EVENTS:
            assert re.fullmatch(r"\w+=.*", body), line
        else:
            assert print_fmt_regex(name).fullmatch(body), line
            checked.add(name)
    assert "mm_page_alloc_extfrag" in checked and len(checked) >= 8


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
