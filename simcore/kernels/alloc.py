"""The allocator's fast path, `__free_pages`, and the workload's per-event loop, compiled.

Arguments come in groups (tuples of buffers, see `simcore.node.Node.kernel_state`):

* ``pages``: ``(kind, buddy, alloc_order, alloc_stream, alloc_index, pb_mt, pb_zone)``
* ``lists``: ``(head, count, lru, zstat)`` (`simcore.kernels.lists`, `simcore.kernels.buddy`)
* ``streams``: ``(arena, start, length, pages)`` (`simcore.owners.StreamStore`)
* ``counters``: ``(nr_kind_pages, nr_alloc_fast, nstat)``; ``nstat[NS_PGFREE]`` is ``pgfree``,
  ``nstat[NS_THP_FAULT_ALLOC]`` ``thp_fault_alloc``
* ``zgeo``: ``(zone_start, zone_end)`` per zone
* ``pref``: per PageKind, the preferred zone (-1: take the full path), the request's migratetype,
  and the low watermark test's threshold (``_watermark[WMARK_LOW] + watermark_boost +
  lowmem_reserve[highest_zoneidx] + nr_free_highatomic``)

Streams must have room for what the call appends (`StreamStore.reserve`).
"""

from __future__ import annotations

from simcore.constants import PAGEBLOCK_ORDER, PageKind
from simcore.jit import Buf, inline_kernel, kernel
from simcore.kernels.buddy import NZSTAT, ZS_FREE, ZS_PGALLOC, free_one_page, rmqueue_smallest

#: `alloc_fast` could not serve the request without the full `alloc_pages()` (nothing changed).
FAST_MISS = -2
#: ``nstat`` entries
NS_PGFREE = 0
NS_THP_FAULT_ALLOC = 1
NNSTAT = 2
#: the transparent huge page class: an order-HPAGE_PMD_ORDER allocation of it is a THP fault
#: (HPAGE_PMD_ORDER is pageblock_order on x86-64)
HUGE_KIND = int(PageKind.HUGE)
#: `run_events` results
EVENTS_DONE = 0
EVENTS_MISS = 1


@inline_kernel
def alloc_fast(
    pages: Buf, lists: Buf, streams: Buf, counters: Buf, pref: Buf, order: int, kind: int, sid: int
) -> int:
    """`PageAllocator.alloc_pages_fast()`: the first pass of `__alloc_pages()` when it ends at once.

    The preferred zone passes the low watermark check (its high-order free-list test is met by the
    block found) and has a block of the request's own migratetype: `__rmqueue_smallest()`,
    `expand()` and `commit_alloc()`. Anything else returns `FAST_MISS` with nothing changed."""
    kind_b, buddy, alloc_order, alloc_stream, alloc_index, _, _ = pages
    head, count, lru, zstat = lists
    arena, s_start, s_len, s_pages = streams
    nr_kind_pages, nr_alloc_fast, nstat = counters
    pref_zone, pref_mt, pref_mark = pref
    zi = int(pref_zone[kind])
    if zi < 0:
        return FAST_MISS
    if zstat[zi * NZSTAT + ZS_FREE] - ((1 << order) - 1) <= pref_mark[kind]:
        return FAST_MISS
    pfn = rmqueue_smallest(buddy, head, count, lru, zstat, zi, order, int(pref_mt[kind]))
    if pfn < 0:
        return FAST_MISS
    n = 1 << order
    zstat[zi * NZSTAT + ZS_PGALLOC] += n
    for p in range(pfn, pfn + n):
        kind_b[p] = kind
    alloc_order[pfn] = order + 1
    alloc_stream[pfn] = sid
    i = int(s_len[sid])
    alloc_index[pfn] = i
    arena[s_start[sid] + i] = pfn
    s_len[sid] = i + 1
    s_pages[sid] += n
    nr_kind_pages[kind] += n
    nr_alloc_fast[order] += 1
    if kind == HUGE_KIND and order == PAGEBLOCK_ORDER:
        nstat[NS_THP_FAULT_ALLOC] += 1  # mm/huge_memory.c: THP_FAULT_ALLOC
    return pfn


@inline_kernel
def free_alloc_at(pages: Buf, lists: Buf, streams: Buf, counters: Buf, zgeo: Buf, sid: int, i: int) -> int:
    """`Node.free_alloc_at()`: free the `i`-th live allocation of stream `sid` (`__free_pages`):
    the last entry of the stream fills its place; `__free_one_page()` merges. Returns the pages."""
    kind_b, buddy, alloc_order, _, alloc_index, pb_mt, pb_zone = pages
    head, count, lru, zstat = lists
    arena, s_start, s_len, s_pages = streams
    nr_kind_pages, _, nstat = counters
    zone_start, zone_end = zgeo
    base = s_start[sid]
    pfn = int(arena[base + i])
    order = int(alloc_order[pfn]) - 1
    n = 1 << order
    k = int(kind_b[pfn])
    for p in range(pfn, pfn + n):
        kind_b[p] = 0
    alloc_order[pfn] = 0
    last_i = s_len[sid] - 1
    last = int(arena[base + last_i])
    s_len[sid] = last_i
    if last != pfn:
        arena[base + i] = last
        alloc_index[last] = i
    s_pages[sid] -= n
    nr_kind_pages[k] -= n
    nstat[NS_PGFREE] += n
    zi = int(pb_zone[pfn >> PAGEBLOCK_ORDER])
    free_one_page(buddy, pb_mt, head, count, lru, zstat, zi, zone_start[zi], zone_end[zi], pfn, order)
    return n


@inline_kernel
def pick_entry(pick_cum: Buf, u: float) -> int:
    """`bisect_right(pick_cum, u)`: the first entry whose cumulative weight exceeds `u`."""
    lo = 0
    hi = len(pick_cum)
    while lo < hi:
        mid = (lo + hi) // 2
        if u < pick_cum[mid]:
            hi = mid
        else:
            lo = mid + 1
    return lo


@kernel
def run_events(
    pages: Buf,
    lists: Buf,
    streams: Buf,
    counters: Buf,
    zgeo: Buf,
    pref: Buf,
    mix: Buf,
    live: Buf,
    u: Buf,
    i: int,
    pa: float,
    pb: float,
    allocated: int,
    recount: bool,
    rate: float,
) -> tuple[int, int, int, float, int, int]:
    """The workload's events from event `i` on (`simcore.workload.Workload.run_tick`), until the
    tick's last or one that needs the full allocator.

    ``mix`` is ``(sids, inv_life, pick_cum, pick_j, pick_order, pick_kind)``; ``live[j]`` the live
    allocations of stream ``sids[j]`` and `rate` the total death rate (recounted first if
    `recount`); ``u`` the tick's uniforms, three an event. Returns ``(status, i, allocated, rate,
    allocs, frees)``: `EVENTS_DONE` with ``i`` the event count, or `EVENTS_MISS` with ``i`` the
    allocation event the fast path could not serve (nothing of it done; its entry is
    `pick_entry(pick_cum, u[3 * i + 1])`)."""
    sids, inv_life, pick_cum, pick_j, pick_order, pick_kind = mix
    s_len = streams[2]
    last = len(sids) - 1
    if recount:
        rate = 0.0
        for j in range(len(sids)):
            live[j] = s_len[sids[j]]
            rate += live[j] * inv_life[j]
    allocs = 0
    frees = 0
    n = len(u) // 3
    while i < n:
        ua = u[3 * i]
        ub = u[3 * i + 1]
        uc = u[3 * i + 2]
        if ua < pa - pb * allocated:
            e = pick_entry(pick_cum, ub)
            j = int(pick_j[e])
            order = int(pick_order[e])
            pfn = alloc_fast(pages, lists, streams, counters, pref, order, int(pick_kind[e]), int(sids[j]))
            if pfn < 0:
                return EVENTS_MISS, i, allocated, rate, allocs, frees
            allocated += 1 << order
            allocs += 1
            live[j] += 1
            rate += inv_life[j]
        elif rate > 0.0:
            # the stream by death rate: live allocations / mean lifetime
            x = ub * rate
            j = 0
            acc = live[0] * inv_life[0]
            while acc <= x and j < last:
                j += 1
                acc += live[j] * inv_life[j]
            c = int(live[j])
            if c:
                allocated -= free_alloc_at(pages, lists, streams, counters, zgeo, int(sids[j]), int(uc * c))
                frees += 1
                live[j] = c - 1
                rate -= inv_life[j]
        i += 1
    return EVENTS_DONE, i, allocated, rate, allocs, frees
