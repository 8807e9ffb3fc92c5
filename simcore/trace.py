"""ftrace text output: events printed as trace_pipe lines with each tracepoint's TP_printk format.

A line looks like a real one (kernel/trace/trace_output.c `trace_print_context()`)::

      kcompactd0-36      [000] .....    12.340001: mm_compaction_begin: zone_start=0x0 ...

* task and pid: the task the event ran in, stamped by `Node.emit()` (`simcore.tasks`: the allocating
  process, kswapd0, kcompactd0, oom_reaper, the shell that wrote a /proc knob, a kworker);
* CPU: the task's (`simcore.tasks`: ``pid % NR_CPUS``, a per-CPU kworker on its own);
* flags (irqs-off, need-resched, hardirq/softirq, preempt depth, migrate-disable): ``.....``, except
  for the tracepoints the kernel fires under a spinlock with interrupts off (`FLAGS`);
* timestamp: a simulated clock, monotonic and deterministic (`event_time_ns`): the tick's start
  (tick x tick_ms) plus an offset by the event's place among the tick's events, printed in
  microseconds as ftrace's default clock is.

Bodies follow include/trace/events/compaction.h, kmem.h, vmscan.h and oom.h; events without a kernel
tracepoint print their fields as key=value. `%p` pointers print as the kernel prints them by
default: hashed (`ptr_hash`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Final

from simcore.constants import PAGE_ALLOC_COSTLY_ORDER, PAGEBLOCK_ORDER, ZONE_NAMES, ZoneType
from simcore.events import Event

#: COMPACTION_STATUS (include/trace/events/compaction.h)
COMPACTION_STATUS = {
    0: "not_suitable_zone",
    1: "skipped",
    2: "deferred",
    3: "no_suitable_page",
    4: "continue",
    5: "complete",
    6: "partial_skipped",
    7: "contended",
    8: "success",
}
#: vmemmap base of x86-64 with 4-level paging; struct page is 64 bytes
VMEMMAP_START = 0xFFFFEA0000000000
STRUCT_PAGE_SIZE = 64


# --------------------------------------------------------------- hashed pointers
_M64 = (1 << 64) - 1
#: the model's `ptr_key` (lib/vsprintf.c: random at each boot; fixed here, so traces repeat)
PTR_KEY: Final = (0x7A6F6E6573636F70, 0x6D6D2D7472616365)


def _rotl(x: int, b: int) -> int:
    return ((x << b) | (x >> (64 - b))) & _M64


def siphash_1u64(first: int, key: tuple[int, int]) -> int:
    """lib/siphash.c `siphash_1u64()`: SipHash-2-4 of one little-endian u64 (an 8-byte message)."""
    v0 = 0x736F6D6570736575 ^ key[0]
    v1 = 0x646F72616E646F6D ^ key[1]
    v2 = 0x6C7967656E657261 ^ key[0]
    v3 = 0x7465646279746573 ^ key[1]

    def sipround() -> None:
        nonlocal v0, v1, v2, v3
        v0 = (v0 + v1) & _M64
        v1 = _rotl(v1, 13) ^ v0
        v0 = _rotl(v0, 32)
        v2 = (v2 + v3) & _M64
        v3 = _rotl(v3, 16) ^ v2
        v0 = (v0 + v3) & _M64
        v3 = _rotl(v3, 21) ^ v0
        v2 = (v2 + v1) & _M64
        v1 = _rotl(v1, 17) ^ v2
        v2 = _rotl(v2, 32)

    b = 8 << 56  # the message length in the top byte of the last (empty) block
    for m in (first & _M64, b):
        v3 ^= m
        sipround()
        sipround()
        v0 ^= m
    v2 ^= 0xFF
    for _ in range(4):
        sipround()
    return v0 ^ v1 ^ v2 ^ v3


@lru_cache(maxsize=4096)
def ptr_hash(addr: int) -> str:
    """How `%p` prints a kernel pointer on x86-64 (lib/vsprintf.c `ptr_to_id()`): the low 32 bits
    of `siphash_1u64(addr, ptr_key)`, zero-padded to 16 hex digits (so the top 8 are zeros)."""
    return f"{siphash_1u64(addr, PTR_KEY) & 0xFFFFFFFF:016x}"


def page_address(pfn: int) -> int:
    """`pfn_to_page(pfn)` with SPARSEMEM_VMEMMAP: the struct page in the vmemmap."""
    return VMEMMAP_START + pfn * STRUCT_PAGE_SIZE


def _zone(idx: object) -> str:
    return ZONE_NAMES.get(ZoneType(int(str(idx))), str(idx))


def _f(ev: Event) -> dict[str, object]:
    return ev.fields()


def _int(v: object) -> int:
    return int(str(v)) if not isinstance(v, int) else v


def _begin(d: dict[str, object]) -> str:
    return (
        f"zone_start={_int(d['zone_start']):#x} migrate_pfn={_int(d['migrate_pfn']):#x} "
        f"free_pfn={_int(d['free_pfn']):#x} zone_end={_int(d['zone_end']):#x}, "
        f"mode={'sync' if d['sync'] else 'async'}"
    )


def _end(d: dict[str, object]) -> str:
    return _begin(d) + f" status={COMPACTION_STATUS.get(_int(d['status']), str(d['status']))}"


def _isolate(d: dict[str, object]) -> str:
    return (
        f"range=({_int(d['start_pfn']):#x} ~ {_int(d['end_pfn']):#x}) nr_scanned={d['nr_scanned']} "
        f"nr_taken={d['nr_taken']}"
    )


def _suitable(d: dict[str, object]) -> str:
    return (
        f"node={d['nid']} zone={_zone(d['idx']):<8} order={d['order']} "
        f"ret={COMPACTION_STATUS.get(_int(d['ret']), str(d['ret']))}"
    )


def _defer(d: dict[str, object]) -> str:
    return (
        f"node={d['nid']} zone={_zone(d['idx']):<8} order={d['order']} order_failed={d['order_failed']} "
        f"consider={d['considered']} limit={1 << _int(d['defer_shift'])}"
    )


def _kcompactd(d: dict[str, object]) -> str:
    return f"nid={d['nid']} order={d['order']} classzone_idx={_zone(d['highest_zoneidx']):<8}"


def _extfrag(d: dict[str, object]) -> str:
    pfn = _int(d["pfn"])
    return (
        f"page={ptr_hash(page_address(pfn))} pfn={pfn:#x} alloc_order={d['alloc_order']} "
        f"fallback_order={d['fallback_order']} pageblock_order={PAGEBLOCK_ORDER} "
        f"alloc_migratetype={d['alloc_migratetype']} fallback_migratetype={d['fallback_migratetype']} "
        f"fragmenting={d['fragmenting']} change_ownership={d['change_ownership']}"
    )


def _lru_isolate(d: dict[str, object]) -> str:
    return (
        f"isolate_mode={d['isolate_mode']} order={d['order']} nr_requested={d['nr_requested']} "
        f"nr_scanned={d['nr_scanned']} nr_taken={d['nr_taken']} contig_taken={d['nr_lumpy_taken']} "
        f"contig_dirty={d['nr_lumpy_dirty']} contig_failed={d['nr_lumpy_failed']}"
    )


def _mark_victim(d: dict[str, object]) -> str:
    """oom.h `mark_victim` (6.x): sizes in kB, with the kernel's mix of "=" and ":"."""
    return (
        f"pid={d['pid']} comm={d['comm']} total-vm={d['total_vm']}kB anon-rss={d['anon_rss']}kB "
        f"file-rss:{d['file_rss']}kB shmem-rss:{d['shmem_rss']}kB uid={d['uid']} "
        f"pgtables={d['pgtables']}kB oom_score_adj={d['oom_score_adj']}"
    )


FORMATS: dict[str, Callable[[dict[str, object]], str]] = {
    "mm_compaction_begin": _begin,
    "mm_compaction_end": _end,
    "mm_compaction_isolate_migratepages": _isolate,
    "mm_compaction_isolate_freepages": _isolate,
    "mm_compaction_fast_isolate_freepages": _isolate,
    "mm_compaction_migratepages": lambda d: f"nr_migrated={d['nr_migrated']} nr_failed={d['nr_failed']}",
    "mm_compaction_finished": _suitable,
    "mm_compaction_suitable": _suitable,
    "mm_compaction_deferred": _defer,
    "mm_compaction_defer_compaction": _defer,
    "mm_compaction_defer_reset": _defer,
    "mm_compaction_wakeup_kcompactd": _kcompactd,
    "mm_compaction_kcompactd_wake": _kcompactd,
    "mm_compaction_kcompactd_sleep": lambda d: f"nid={d['nid']}",
    "mm_page_alloc_extfrag": _extfrag,
    "mm_vmscan_lru_isolate": _lru_isolate,
    # vmscan.h / oom.h print less than the model records: zid and the pages reaped stay in the record
    "mm_vmscan_kswapd_wake": lambda d: f"nid={d['nid']} order={d['order']}",
    "finish_task_reaping": lambda d: f"pid={d['pid']}",
    # the badness points stay in the record too
    "mark_victim": _mark_victim,
}


def format_body(ev: Event) -> str:
    """The TP_printk part of the line."""
    fmt = FORMATS.get(ev.name)
    d = _f(ev)
    if fmt is not None:
        return fmt(d)
    return " ".join(f"{k}={v}" for k, v in d.items())


# ------------------------------------------------------------------- the line
def _extfrag_flags(ev: Event) -> str:
    """`__rmqueue()` runs under zone->lock, taken with spin_lock_irqsave(): irqs off. An order the
    per-cpu lists serve (`pcp_allowed_order()`: <= PAGE_ALLOC_COSTLY_ORDER, or pageblock_order with
    THP) gets there through `rmqueue_pcplist()` -> `rmqueue_bulk()`, with the pcp pin and the pcp
    lock held too: preempt depth 3, as a real trace shows (``d..3.``); `rmqueue_buddy()` holds only
    zone->lock (``d..1.``)."""
    order = _int(ev.fields()["alloc_order"])
    return "d..3." if order <= PAGE_ALLOC_COSTLY_ORDER or order == PAGEBLOCK_ORDER else "d..1."


#: the flags column of tracepoints fired with a lock held; every other event prints "....."
FLAGS: dict[str, Callable[[Event], str]] = {
    "mm_page_alloc_extfrag": _extfrag_flags,
    # mm/vmscan.c: isolate_lru_folios() (2.6.36: isolate_lru_pages()) runs under
    # spin_lock_irq(lru_lock)
    "mm_vmscan_lru_isolate": lambda ev: "d..1.",
    # mm/oom_kill.c __oom_kill_process(): mark_oom_victim() with task_lock(victim) held
    "mark_victim": lambda ev: "...1.",
}

#: the trace clock: events of a tick are EVENT_NS apart until half the tick has gone, then closer
#: and closer, so that no event reaches the next tick's time
EVENT_NS: Final = 1000


def event_time_ns(ev: Event, tick_ms: int) -> int:
    """The event's time on the simulated trace clock, in ns: the tick's start plus an offset by its
    place among the tick's events (`Event.seq`). The first ``tick_ns / 2 / EVENT_NS`` events of a
    tick (5,000 at 10 ms) are EVENT_NS apart; after that, the rest of the tick is shared as
    ``half * u / (u + s0)`` (u events past those s0), whose steps shrink smoothly from EVENT_NS and
    never sum to the half: monotonic, below the next tick's start, and strictly increasing to the
    ns for the first 31 * s0 events of a tick (155,000 at 10 ms; equal times after that)."""
    tick_ns = tick_ms * 1_000_000
    half = tick_ns // 2
    s0 = half // EVENT_NS
    seq = ev.seq
    if seq <= s0:
        offset = seq * EVENT_NS
    else:
        u = seq - s0
        offset = half + half * u // (u + s0)
    return ev.tick * tick_ns + offset


def format_line(ev: Event, tick_ms: int) -> str:
    """One trace_pipe line: task-pid, [cpu], irq/preempt flags, timestamp, event name, body."""
    usecs = event_time_ns(ev, tick_ms) // 1000
    secs, frac = divmod(usecs, 1_000_000)
    t = ev.task
    flags = FLAGS[ev.name](ev) if ev.name in FLAGS else "....."
    return (
        f"{t.comm:>16}-{t.pid:<7} [{t.cpu:03d}] {flags} {secs:5d}.{frac:06d}: {ev.name}: {format_body(ev)}"
    )


def format_trace(events: Iterable[Event], tick_ms: int) -> list[str]:
    return [format_line(ev, tick_ms) for ev in events]
