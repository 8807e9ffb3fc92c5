"""ftrace text output: events printed as trace_pipe lines with each tracepoint's TP_printk format.

A line looks like a real one::

           <...>-1234    [000] .....    12.345678: mm_compaction_begin: zone_start=0x0 ...

The timestamp is simulated time (tick x tick_ms), so lines can be set beside a real trace_pipe.
Formats follow include/trace/events/compaction.h, kmem.h and vmscan.h; events without a kernel
tracepoint print their fields as key=value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from simcore.constants import PAGEBLOCK_ORDER, ZONE_NAMES, ZoneType
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
        f"page={VMEMMAP_START + pfn * 64:016x} pfn={pfn:#x} alloc_order={d['alloc_order']} "
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
    # vmscan.h / oom.h record more than they print: zid and the pages reaped stay in the record
    "mm_vmscan_kswapd_wake": lambda d: f"nid={d['nid']} order={d['order']}",
    "finish_task_reaping": lambda d: f"pid={d['pid']}",
}


def format_body(ev: Event) -> str:
    """The TP_printk part of the line."""
    fmt = FORMATS.get(ev.name)
    d = _f(ev)
    if fmt is not None:
        return fmt(d)
    return " ".join(f"{k}={v}" for k, v in d.items())


def format_line(ev: Event, tick_ms: int, comm: str = "<...>", pid: int = 1234, cpu: int = 0) -> str:
    """One trace_pipe line: task-pid, [cpu], irq/preempt flags, timestamp, event name, body."""
    usecs = ev.tick * tick_ms * 1000
    secs, frac = divmod(usecs, 1_000_000)
    return f"{comm:>16}-{pid:<7} [{cpu:03d}] ..... {secs:5d}.{frac:06d}: {ev.name}: {format_body(ev)}"


def format_trace(events: Iterable[Event], tick_ms: int, comm: str = "<...>", pid: int = 1234) -> list[str]:
    return [format_line(ev, tick_ms, comm, pid) for ev in events]
