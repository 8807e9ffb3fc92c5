"""The page allocator's entry: zonelist walk, watermark checks, `__rmqueue`, and the slow path.

`PageAllocator.alloc_pages()` models `__alloc_pages()`: a fast pass over the zonelist at the low
watermark (with ALLOC_NOFRAGMENT when the preferred zone is Normal, as Linux 5.0+ does), then
`__alloc_pages_slowpath()`: wake kswapd, retry at the min watermark, direct compaction, direct
reclaim, more compaction, and the OOM killer. Reclaim, compaction and the OOM killer are other
modules; they plug in through `SlowpathHooks`, whose defaults do nothing (no reclaim, no
compaction: a failing allocation simply fails).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from simcore.constants import (
    CLASS_INFO,
    NR_PAGE_ORDERS,
    PAGE_ALLOC_COSTLY_ORDER,
    PAGEBLOCK_ORDER,
    MigrateType,
    Mode,
    ZoneType,
)
from simcore.events import AllocFail, Event, MmPageAllocExtfrag
from simcore.jit import py
from simcore.kernels.alloc import FAST_MISS, HUGE_KIND, NS_THP_FAULT_ALLOC, alloc_fast
from simcore.watermarks import (
    ALLOC_KSWAPD,
    ALLOC_NOFRAGMENT,
    ALLOC_WMARK_LOW,
    ALLOC_WMARK_MASK,
    ALLOC_WMARK_MIN,
    zone_watermark_ok,
)

if TYPE_CHECKING:
    from array import array

    from simcore.owners import Process, Stream, StreamStore
    from simcore.tasks import Task
    from simcore.zone import Zone

# enum compact_priority
COMPACT_PRIO_SYNC_FULL = 0
COMPACT_PRIO_SYNC_LIGHT = 1
COMPACT_PRIO_ASYNC = 2
MAX_RECLAIM_RETRIES = 16
_alloc_fast = py(alloc_fast)


class AllocContext(NamedTuple):
    """`struct alloc_context` plus what the hooks need to know about the request."""

    order: int
    kind: int
    migratetype: int
    highest_zoneidx: int
    zonelist: list[Zone]
    sid: int


class AllocStats(NamedTuple):
    """Allocation requests and successes by order (index = order), counted by the allocator.

    Not kernel counters (the kernel counts pages, in pgalloc_*): what `zonescope compare` reports."""

    attempts: tuple[int, ...]
    successes: tuple[int, ...]

    def rate(self, lo: int, hi: int = NR_PAGE_ORDERS - 1) -> tuple[int, int]:
        """(successes, attempts) summed over orders `lo`..`hi`."""
        return sum(self.successes[lo : hi + 1]), sum(self.attempts[lo : hi + 1])


class SlowpathHooks:
    """What the slow path calls into. The defaults model a kernel with no reclaim and no compaction.

    Subsystems replace the hooks object (`node.hooks`) with a subclass.
    """

    def wake_kswapd(self, ac: AllocContext) -> None:
        """`wake_all_kswapds()`."""

    def direct_compact(self, ac: AllocContext, prio: int) -> int:
        """`__alloc_pages_direct_compact()`: compact, then try to allocate; the pfn or -1."""
        return -1

    def direct_reclaim(self, ac: AllocContext) -> tuple[int, int]:
        """`__alloc_pages_direct_reclaim()`: reclaim, then try to allocate: (pfn or -1, pages reclaimed)."""
        return -1, 0

    def should_compact_retry(self, ac: AllocContext, retries: int) -> bool:
        return False

    def out_of_memory(self, ac: AllocContext) -> bool:
        """`__alloc_pages_may_oom()`: True if something was killed or freed, so a retry may work."""
        return False

    def after_alloc(self, zone: Zone) -> None:
        """Called after a successful allocation from a zone whose watermark is boosted."""


class KernelHooks(SlowpathHooks):
    """Routes each slow-path step to the subsystem that installed itself for it (or does nothing)."""

    def __init__(self) -> None:
        self.kswapd: Callable[[AllocContext], None] | None = None
        self.compact: Callable[[AllocContext, int], int] | None = None
        self.compact_retry: Callable[[AllocContext, int], bool] | None = None
        self.reclaim: Callable[[AllocContext], tuple[int, int]] | None = None
        self.oom: Callable[[AllocContext], bool] | None = None
        self.boosted: Callable[[Zone], None] | None = None

    def wake_kswapd(self, ac: AllocContext) -> None:
        if self.kswapd is not None:
            self.kswapd(ac)

    def direct_compact(self, ac: AllocContext, prio: int) -> int:
        return self.compact(ac, prio) if self.compact is not None else -1

    def direct_reclaim(self, ac: AllocContext) -> tuple[int, int]:
        return self.reclaim(ac) if self.reclaim is not None else (-1, 0)

    def should_compact_retry(self, ac: AllocContext, retries: int) -> bool:
        return self.compact_retry(ac, retries) if self.compact_retry is not None else False

    def out_of_memory(self, ac: AllocContext) -> bool:
        return self.oom(ac) if self.oom is not None else False

    def after_alloc(self, zone: Zone) -> None:
        if self.boosted is not None:
            self.boosted(zone)


class PageAllocator:
    """Mixin for `Node`: the allocation entry points."""

    if TYPE_CHECKING:
        hooks: SlowpathHooks
        buddy: bytearray
        zones: list[Zone]
        mode: Mode
        tick: int
        streams: list[Stream]
        procs: dict[int, Process]
        task: Task
        kind: bytearray
        alloc_order: bytearray
        alloc_stream: array[int]
        alloc_index: array[int]
        nr_kind_pages: array[int]
        nr_alloc_fast: array[int]
        nstat: array[int]
        vm_events: dict[str, int]
        stream_store: StreamStore
        nr_alloc_tried: list[int]
        nr_alloc_ok: list[int]
        _fill: list[list[bytes]]
        _preferred: list[tuple[Zone, int, int] | None]

        def zonelist(self, highest_zoneidx: int) -> list[Zone]: ...
        def commit_alloc(self, pfn: int, order: int, kind: int, sid: int) -> None: ...
        def emit(self, ev: Event) -> None: ...
        def task_of(self, pid: int) -> Task: ...
        def kernel_state(self, refresh: bool = True) -> tuple[tuple[Any, ...], ...]: ...

    def alloc_context(self, order: int, kind: int, sid: int) -> AllocContext:
        info = CLASS_INFO[kind]
        highest = int(info.highest_zone)
        top = self.zones[-1].idx
        highest = min(highest, top)
        return AllocContext(order, kind, int(info.migratetype), highest, self.zonelist(highest), sid)

    def alloc_pages(self, order: int, kind: int, sid: int) -> int:
        """Models `__alloc_pages()`. Returns the head pfn (recorded as an allocation) or -1.

        Runs as the stream's owner (`task_of`): what the slow path traces, it traces in the
        allocating task, as the kernel's direct compaction, direct reclaim and OOM kill do."""
        self.nr_alloc_tried[order] += 1
        owner = self.streams[sid].owner
        prev = self.task
        self.task = self.task_of(owner)
        try:
            ac = self.alloc_context(order, kind, sid)
            flags = ALLOC_WMARK_LOW | ALLOC_KSWAPD
            if self.mode == Mode.MODERN and ac.zonelist[0].ztype == ZoneType.NORMAL:
                flags |= ALLOC_NOFRAGMENT
            pfn = self.get_page_from_freelist(ac, flags)
            if pfn < 0:
                pfn = self.alloc_pages_slowpath(ac)
                if pfn < 0:
                    if kind == HUGE_KIND and order == PAGEBLOCK_ORDER:
                        # do_huge_pmd_anonymous_page(): no huge page, the fault falls back
                        self.vm_events["thp_fault_fallback"] += 1
                    self.emit(AllocFail(self.tick, order, CLASS_INFO[kind].gfp, ac.migratetype, owner))
                    return -1
        finally:
            self.task = prev
        self.nr_alloc_ok[order] += 1
        self.commit_alloc(pfn, order, kind, sid)
        if kind == HUGE_KIND and order == PAGEBLOCK_ORDER:
            self.nstat[NS_THP_FAULT_ALLOC] += 1
        return pfn

    def alloc_stats(self) -> AllocStats:
        """Allocation requests and successes by order since boot, both entry points together."""
        fast = self.nr_alloc_fast
        return AllocStats(
            tuple(f + t for f, t in zip(fast, self.nr_alloc_tried, strict=True)),
            tuple(f + k for f, k in zip(fast, self.nr_alloc_ok, strict=True)),
        )

    def alloc_fast(self, order: int, kind: int, sid: int) -> int:
        """`alloc_pages()` with the common case first: same result, same state, fewer Python calls."""
        pfn = self.alloc_pages_fast(order, kind, sid)
        if pfn == FAST_MISS:
            return self.alloc_pages(order, kind, sid)
        return pfn

    def alloc_pages_fast(self, order: int, kind: int, sid: int) -> int:
        """The first pass of `__alloc_pages()` when it ends at once: returns the pfn or `FAST_MISS`.

        Covers the case where `get_page_from_freelist()` succeeds in the preferred zone through
        `__rmqueue_smallest()` (a free block of the request's own migratetype): the low watermark
        check of `zone_watermark_ok()` (its high-order free-list test is met by the block found),
        then `__rmqueue_smallest()`, `expand()` and `commit_alloc()` (`simcore.kernels.alloc`).
        Anything else (the watermark fails, no block of the own type, so a fallback would be needed;
        or the zone's boosted watermark must wake kcompactd) returns `FAST_MISS` with no state
        changed, and the caller runs `alloc_pages()`, which takes the same decisions in full.
        """
        self.stream_store.reserve(sid, 1)
        pages, lists, streams, counters, _, pref = self.kernel_state()
        return _alloc_fast(pages, lists, streams, counters, pref, order, kind, sid)

    def get_page_from_freelist(self, ac: AllocContext, alloc_flags: int) -> int:
        """Models `get_page_from_freelist()`: the first zone that passes its watermark and has a page."""
        order = ac.order
        mark_idx = alloc_flags & ALLOC_WMARK_MASK
        while True:
            for z in ac.zonelist:
                mark = z.watermark[mark_idx] + z.watermark_boost
                if order == 0 and not z.nr_free_highatomic:
                    ok = z.free_pages > mark + z.lowmem_reserve[ac.highest_zoneidx]
                else:
                    ok = zone_watermark_ok(z, order, mark, ac.highest_zoneidx, alloc_flags)
                if not ok:
                    continue
                pfn = self.rmqueue(z, order, ac.migratetype, alloc_flags)
                if pfn >= 0:
                    z.pgalloc += 1 << order
                    if z.boosted:
                        z.boosted = False
                        self.hooks.after_alloc(z)
                    return pfn
            if alloc_flags & ALLOC_NOFRAGMENT:
                # every zone was fragmented: try again, allowing fallbacks that fragment
                alloc_flags &= ~ALLOC_NOFRAGMENT
                continue
            return -1

    def rmqueue(self, z: Zone, order: int, mt: int, alloc_flags: int) -> int:
        """Models `__rmqueue()`: own type, then claim a fallback block, then steal (no NOFRAGMENT)."""
        pfn = z.rmqueue_smallest(order, mt)
        if pfn >= 0:
            return pfn
        nofrag = bool(alloc_flags & ALLOC_NOFRAGMENT)
        if self.mode == Mode.V2_6_35:
            pfn, fallback_order, fallback_mt = z.rmqueue_claim(order, mt, False)
            if pfn < 0:
                pfn, fallback_order, fallback_mt = z.rmqueue_steal(order, mt)
        else:
            pfn, fallback_order, fallback_mt = z.rmqueue_claim(order, mt, nofrag)
            if pfn < 0 and not nofrag:
                pfn, fallback_order, fallback_mt = z.rmqueue_steal(order, mt)
        if pfn < 0:
            return -1
        self.emit(
            MmPageAllocExtfrag(
                self.tick,
                pfn,
                order,
                fallback_order,
                mt,
                fallback_mt,
                int(fallback_order < PAGEBLOCK_ORDER),
                int(mt == z.pb_mt[pfn >> PAGEBLOCK_ORDER]),
            )
        )
        return pfn

    def alloc_pages_slowpath(self, ac: AllocContext) -> int:
        """Models the shape of `__alloc_pages_slowpath()`."""
        hooks = self.hooks
        flags = ALLOC_WMARK_MIN | ALLOC_KSWAPD
        hooks.wake_kswapd(ac)
        pfn = self.get_page_from_freelist(ac, flags)
        if pfn >= 0:
            return pfn
        costly = ac.order > PAGE_ALLOC_COSTLY_ORDER
        if costly or (ac.order > 0 and ac.migratetype != MigrateType.MOVABLE):
            pfn = hooks.direct_compact(ac, COMPACT_PRIO_ASYNC)
            if pfn >= 0:
                return pfn
        compaction_retries = 0
        no_progress_loops = 0
        oom_loops = 0
        while True:
            hooks.wake_kswapd(ac)
            pfn = self.get_page_from_freelist(ac, flags)
            if pfn >= 0:
                return pfn
            pfn, reclaimed = hooks.direct_reclaim(ac)
            if pfn >= 0:
                return pfn
            if ac.order > 0:
                pfn = hooks.direct_compact(ac, COMPACT_PRIO_SYNC_LIGHT)
                if pfn >= 0:
                    return pfn
            no_progress_loops = 0 if reclaimed and not costly else no_progress_loops + 1
            if reclaimed and no_progress_loops < MAX_RECLAIM_RETRIES and not costly:
                continue
            if ac.order > 0 and hooks.should_compact_retry(ac, compaction_retries):
                compaction_retries += 1
                continue
            # the OOM killer is not invoked for costly orders
            if costly or oom_loops >= 3 or not hooks.out_of_memory(ac):
                return -1
            oom_loops += 1
