"""The free scanner: `isolate_freepages()`, `isolate_freepages_block()`, `compaction_alloc()`."""

from __future__ import annotations

from array import array
from bisect import bisect_left

import numpy as np

from simcore.compaction.context import SKIP_FREE_BLOCK, SKIP_HINT, SKIP_NOT_TARGET, Compactor
from simcore.compaction.control import CompactControl, MigrateMode, target_free_limit
from simcore.compaction.events import MmCompactionFastIsolateFreepages, MmCompactionIsolateFreepages
from simcore.constants import (
    COMPACT_CLUSTER_MAX,
    NR_PAGE_ORDERS,
    PAGEBLOCK_NR_PAGES,
    PAGEBLOCK_ORDER,
    MigrateType,
    PageKind,
)
from simcore.kernels.compact import OUT_COUNTS, OUT_PFNS, isolate_free_run
from simcore.zone import WMARK_LOW, WMARK_MIN

ISOLATED_FREE = int(PageKind.ISOLATED_FREE)

# enum members the scanners read for every pageblock, bound once (an Enum class attribute is a slow lookup)
_ASYNC = MigrateMode.ASYNC
_MOVABLE = int(MigrateType.MOVABLE)
_ISOLATE = int(MigrateType.ISOLATE)
_MASK = PAGEBLOCK_NR_PAGES - 1
#: bytes.translate table: a FREE page becomes ISOLATED_FREE, any other kind stays
FREE_TO_ISOLATED = bytes([ISOLATED_FREE]) + bytes(range(1, 256))
ZEROS = memoryview(bytes(PAGEBLOCK_NR_PAGES))
#: run lengths of destinations: _RUNS[order] repeats 1 << order (a batch lies in one pageblock, so
#: no call takes more than PAGEBLOCK_NR_PAGES runs)
_RUNS = [array("q", [1 << o]) * (4 * PAGEBLOCK_NR_PAGES) for o in range(NR_PAGE_ORDERS)]
_ONES = _RUNS[0]


def suitable_migration_target(c: Compactor, cc: CompactControl, block_start: int) -> int:
    """Models `suitable_migration_target()`. Returns 0 if the block is a target, else a skip reason.

    Modern: a block starting with a free block of order >= `target_free_limit(cc.order)` (the
    request's order, else pageblock_order: 6.9+) is never a target (compaction would only break it
    up); otherwise MOVABLE blocks only. 2.6.35 did the opposite
    with large free blocks: it allowed them ("If the page is a large free page, then allow").
    """
    node = c.node
    head = node.buddy[block_start]
    mt = node.pb_mt[block_start >> PAGEBLOCK_ORDER]
    if c.old:
        if mt == _ISOLATE:
            return SKIP_NOT_TARGET
        if head and head - 1 >= PAGEBLOCK_ORDER:
            return 0
        return 0 if mt == _MOVABLE else SKIP_NOT_TARGET
    if head and head - 1 >= target_free_limit(cc.order):
        return SKIP_FREE_BLOCK
    if cc.ignore_block_suitable:
        return 0
    return 0 if mt == _MOVABLE else SKIP_NOT_TARGET


def isolate_freepages(c: Compactor, cc: CompactControl) -> None:
    """Models `isolate_freepages()`: walk pageblocks down from ``free_pfn`` until enough free pages.

    Stops above the migration scanner's block. In modern mode it resumes mid-block where it
    stopped, sets the skip bit of every block it scanned to the end, and samples with a stride
    (32 for async, 1 for sync) that resets to 1 when a block yields pages and doubles when not.
    """
    if not c.old and cc.order > 0:
        # the search reads the free lists: the pages the run has migrated from go back first, as
        # the kernel has freed them by now (see `migrate.flush_sources`)
        free_held(cc)
        fast_isolate_freepages(c, cc)
        if cc.nr_freepages:
            return
    walk_freepages(c, cc, cc.free_pfn, 1 if c.old or cc.mode != _ASYNC else COMPACT_CLUSTER_MAX)


def free_held(cc: CompactControl) -> None:
    """The migrated-from pages the run holds (``cc.pending_free``) back to the buddy allocator, one
    `free_one_page(p, 0)` each, in order."""
    pending = cc.pending_free
    if pending:
        cc.zone.free_pages_each(np.asarray(pending, dtype=np.int64), 0)
        del pending[:]


def walk_freepages(c: Compactor, cc: CompactControl, isolate_start: int, stride: int) -> None:
    """The pageblock walk of `isolate_freepages()` from ``isolate_start`` with the given stride."""
    zone = cc.zone
    node = c.node
    block_start = isolate_start & ~_MASK
    block_end = min(block_start + PAGEBLOCK_NR_PAGES, zone.end_pfn)
    low = (cc.migrate_pfn & ~_MASK) + PAGEBLOCK_NR_PAGES
    while block_start >= low:
        b = block_start >> PAGEBLOCK_ORDER
        reason = suitable_migration_target(c, cc, block_start)
        if not reason and not c.old and not cc.ignore_skip_hint and node.pb_skip[b]:
            reason = SKIP_HINT
        if reason:
            c.note_free_block(block_start, reason)
        else:
            c.note_free_block(block_start)
            nr_isolated, isolate_start = isolate_freepages_block(c, cc, isolate_start, block_end, stride)
            if c.old:
                # 2.6.35 took every free page of the block; the cursor stays on the last block used
                if cc.nr_freepages >= cc.nr_migratepages:
                    isolate_start = block_start
                    break
            else:
                if isolate_start == block_end:
                    node.pb_skip[b] = 1
                    if block_start - PAGEBLOCK_NR_PAGES < zone.compact_cached_free_pfn:
                        zone.compact_cached_free_pfn = max(block_start - PAGEBLOCK_NR_PAGES, zone.start_pfn)
                if cc.nr_freepages >= cc.nr_migratepages:
                    if isolate_start >= block_end:
                        isolate_start = block_start - PAGEBLOCK_NR_PAGES
                    break
                if isolate_start < block_end:
                    # stopped by the watermark check in __isolate_free_page(): give up for now
                    break
                stride = 1 if nr_isolated else min(COMPACT_CLUSTER_MAX, stride << 1)
        block_end = block_start
        block_start -= PAGEBLOCK_NR_PAGES
        isolate_start = block_start
    cc.free_pfn = isolate_start


def fast_isolate_freepages(c: Compactor, cc: CompactControl) -> None:
    """Models `fast_isolate_freepages()` (Linux 5.1+), for direct compaction and kcompactd (order > 0).

    Instead of walking pageblocks, look at the MOVABLE free lists of the orders below the request,
    oldest entries first and a few at a time, for a free page in the top quarter of the space
    between the scanners (or at least the top half); take it, then the free pages around it in its
    pageblock (`fast_isolate_around`). The free scanner's cursor is not moved.
    """
    zone = cc.zone
    start_search = cc.free_pfn >= zone.last_pageblock_start()
    limit = (
        (PAGEBLOCK_NR_PAGES >> 1)
        if start_search
        else max(1, ((COMPACT_CLUSTER_MAX >> min(cc.fast_search_fail, 31)) + 1) >> 1)
    )
    distance = cc.free_pfn - cc.migrate_pfn
    low_pfn = (cc.free_pfn - (distance >> 2)) & ~_MASK
    min_pfn = (cc.free_pfn - (distance >> 1)) & ~_MASK
    migrate_block_end = (cc.migrate_pfn & ~_MASK) + PAGEBLOCK_NR_PAGES
    min_pfn = max(min_pfn, migrate_block_end)
    low_pfn = max(low_pfn, min_pfn)
    nr_scanned = 0
    found = -1
    for order in range(min(cc.order - 1, NR_PAGE_ORDERS - 1), -1, -1):
        lst = zone.free_area[order][_MOVABLE]
        high_pfn = -1
        order_scanned = 0
        for pfn in lst:
            order_scanned += 1
            nr_scanned += 1
            if pfn >= low_pfn:
                found = pfn
                break
            if pfn >= min_pfn and pfn > high_pfn:
                high_pfn = pfn
                limit = max(1, limit >> 1)
            if order_scanned >= limit:
                break
        if found < 0 and high_pfn >= 0:
            found = high_pfn
        if found >= 0:
            break
        if order_scanned >= limit:
            limit = max(1, limit >> 1)
    cc.total_free_scanned += nr_scanned
    taken = 0
    block_start = found & ~_MASK
    if found >= 0 and not suitable_migration_target(c, cc, block_start):
        c.note_free_block(block_start)
        # the block may hold pages the scanner took earlier in this burst: look at it afresh, and
        # make the regular walk do the same if it comes here
        c.forget_free_candidates()
        taken, stop = isolate_freepages_block(c, cc, block_start, block_start + PAGEBLOCK_NR_PAGES, 1)
        c.forget_free_candidates()
        if stop == block_start + PAGEBLOCK_NR_PAGES:
            c.node.pb_skip[block_start >> PAGEBLOCK_ORDER] = 1
    # after the search (and the isolation around a page it found), as the kernel traces it
    node = c.node
    node.emit(MmCompactionFastIsolateFreepages(node.tick, min_pfn, cc.free_pfn, nr_scanned, taken))
    if found < 0:
        cc.fast_search_fail += 1
    else:
        cc.fast_search_fail = 0


def isolate_freepages_block(
    c: Compactor, cc: CompactControl, start: int, end: int, stride: int
) -> tuple[int, int]:
    """Models `isolate_freepages_block()` on [start, end). Returns (pages isolated, stop pfn).

    Each free block found is taken off the buddy lists whole (`__isolate_free_page`, which refuses
    once the zone would drop below min + 2^order free pages), its pages become ISOLATED_FREE, and it
    joins ``cc.freepages`` by order (modern) or split to order-0 pages (2.6.35). Modern stops as soon
    as it holds as many free pages as there are pages to migrate; 2.6.35 took the whole block.
    """
    node = c.node
    zone = cc.zone
    kind = node.kind
    old = c.old
    mark = zone.watermark[WMARK_LOW] if old else zone.watermark[WMARK_MIN]
    if stride == 1 and not old:
        return _isolate_free_run(c, cc, start, end, mark)
    heads, _cum, lo, hi = c.free_candidates(end - PAGEBLOCK_NR_PAGES, end)
    buddy = node.buddy
    orders = c.free_orders()
    p = start
    nr_scanned = 0
    total = 0
    stopped = False
    freepages = cc.freepages
    iso_fill = c.iso_fill
    want = cc.nr_migratepages - cc.nr_freepages  # stop once this many pages are held (modern)
    held = len(cc.pending_free)  # free pages the run holds back for a moment count as free
    # `zone.del_free_block(h, o)` inlined: every head here lies in one pageblock, so on the free
    # lists of its type; the zone's free_pages drops by `total` once, after the loop
    mt = node.pb_mt[(end - 1) >> PAGEBLOCK_ORDER]
    free_area = zone.free_area
    room = zone.free_pages + held - mark  # a block of n pages is taken while room - total > n
    for idx in range(bisect_left(heads, start, lo, hi), hi):
        h = heads[idx]
        if h < p:
            continue
        o = orders[idx]
        if buddy[h] != o + 1:
            continue
        if stride > 1 and (h - p) % stride:
            continue
        nr_scanned += (h - p) // stride + 1
        n = 1 << o
        if room - total <= n:
            p = h
            stopped = True
            break
        del free_area[o][mt][h]
        buddy[h] = 0
        if o:
            kind[h : h + n] = iso_fill[o]
        else:
            kind[h] = ISOLATED_FREE
        if old:
            freepages[0].extend(range(h, h + n))  # 2.6.35: list_add, at the head (the end here)
        else:
            freepages[o].insert(0, h)  # 6.9+: list_add_tail (the head is the list's end)
        total += n
        nr_scanned += n - 1
        p = h + n
        if not old and total >= want:
            stopped = True
            break
        # the loop's `blockpfn += isolated - 1`, then `+= stride`: the next look is a stride on
        # from the block's last page (with stride 1, right after the block)
        p = h + n - 1 + stride
    zone.free_pages -= total
    cc.nr_freepages += total
    if not stopped and p < end:
        nr_scanned += (end - p + stride - 1) // stride
        p = end
    if p > end:
        p = end
    cc.total_free_scanned += nr_scanned
    if total:
        node.vm_events["compact_isolated"] += total
    node.emit(MmCompactionIsolateFreepages(node.tick, start, p, nr_scanned, total))
    return total, p


def _isolate_free_run(c: Compactor, cc: CompactControl, start: int, end: int, mark: int) -> tuple[int, int]:
    """`isolate_freepages_block()` for a sync scan in modern mode (stride 1), compiled
    (`simcore.kernels.compact.isolate_free_run`): every free block from ``start`` on is taken in
    pfn order until the pages wanted are held, or up to the first block the watermark refuses
    (taken while free pages - min - pages taken so far > its size, as `__isolate_free_page`
    checks); scanning counts every page from ``start`` up to where it stopped."""
    node = c.node
    zone = cc.zone
    fl = zone.fl
    out = c.free_out
    room = zone.free_pages + len(cc.pending_free) - mark
    want = cc.nr_migratepages - cc.nr_freepages
    total, p, nr_scanned = isolate_free_run(
        node.kind, node.buddy, node.pb_mt, fl.head, fl.count, fl.lru, fl.zstat, zone.zi,
        start, end, want, room, out,
    )
    if total:
        fp = cc.freepages
        at = OUT_PFNS
        for o in range(NR_PAGE_ORDERS):
            k = out[OUT_COUNTS + o]
            if k:
                fp[o][:0] = out[at : at + k][::-1]  # list_add_tail each: the head is the end
                at += k
        cc.nr_freepages += total
        node.vm_events["compact_isolated"] += total
    cc.total_free_scanned += nr_scanned
    node.emit(MmCompactionIsolateFreepages(node.tick, start, p, nr_scanned, total))
    return total, p


def compaction_alloc(c: Compactor, cc: CompactControl, order: int) -> int:
    """Models `compaction_alloc()`: a destination for a page of `order`, or -1.

    Takes the smallest isolated free block of at least that order, splitting the rest back onto
    the isolated lists; if there is none, runs the free scanner once and looks again.
    """
    fp = cc.freepages
    for attempt in range(2):
        for o in range(order, NR_PAGE_ORDERS):
            lst = fp[o]
            if lst:
                pfn = lst.pop()
                while o > order:
                    o -= 1
                    fp[o].append(pfn + (1 << o))
                cc.nr_freepages -= 1 << order
                cc.nr_migratepages -= 1 << order
                return pfn
        if attempt == 0:
            isolate_freepages(c, cc)
    return -1


def compaction_alloc_order0(c: Compactor, cc: CompactControl, n: int) -> tuple[array[int], array[int], int]:
    """`compaction_alloc()` for n order-0 pages at once (the common case), same choices in bulk.

    Whole isolated blocks are taken smallest order first (`take_isolated`). When the lists run dry
    the free scanner runs; if it finds nothing, fewer than n pages come back (the rest get -ENOMEM).
    Returns the destinations as runs (``lengths[i]`` pages from ``starts[i]`` on, in the order the
    pages were handed out) and how many pages they hold.
    """
    starts: array[int] = array("q")
    lengths: array[int] = array("q")
    fp = cc.freepages
    scanned = False
    need = n
    while need:
        if cc.nr_freepages > n - need:  # isolated pages left (this call takes n - need of them)
            left = take_isolated(fp, need, starts, lengths)
            if left < need:
                need = left
                scanned = False
                continue
        if scanned:
            break
        isolate_freepages(c, cc)
        scanned = True
    got = n - need
    cc.nr_freepages -= got
    cc.nr_migratepages -= got
    return starts, lengths, got


def take_isolated(
    fp: list[list[int]], need: int, starts: list[int] | array[int], lengths: list[int] | array[int]
) -> int:
    """Up to `need` order-0 destinations from the isolated lists ``fp``, as that many
    `compaction_alloc()` calls would choose them: the smallest order first, each list from its head
    (a Python list's END is the kernel list's head: isolation adds at the tail, so the oldest block
    comes first, FIFO; split remainders and compaction_free() add at the head), a block larger than
    what is left split with its unused part going back on the lists in buddy-aligned pieces. They
    are added as runs of pages (``lengths[i]`` pages from ``starts[i]`` on). Returns how many are
    still needed (the lists ran dry)."""
    for o in range(NR_PAGE_ORDERS):
        lst = fp[o]
        if not lst:
            continue
        if not o:
            k = len(lst)
            if need < k:  # (a conditional: min() parses its arguments, and this runs every turn)
                k = need
            starts.extend(lst[: -k - 1 : -1])  # head (the end) first
            lengths.extend(_ONES[:k])
            del lst[-k:]
            need -= k
            if not need:
                return 0
            continue
        size = 1 << o
        k = need >> o
        if len(lst) < k:
            k = len(lst)
        if k:
            # whole blocks, the last isolated first (as taking them one by one would)
            taken = lst[-k:]
            taken.reverse()
            starts.extend(taken)
            lengths.extend(_RUNS[o][:k])
            del lst[-k:]
            need -= k << o
            if not need:
                return 0
            if not lst:
                continue
        # a block larger than what is left to place: split it
        pfn = lst.pop()
        starts.append(pfn)
        lengths.append(need)
        put_back(fp, pfn + need, pfn + size)
        return 0
    return need


def put_back(fp: list[list[int]], start: int, end: int) -> None:
    """The unused part [start, end) of a split isolated block back on the isolated lists ``fp``, in
    the largest buddy-aligned pieces, lowest first."""
    while start < end:
        piece = (start & -start).bit_length() - 1
        while start + (1 << piece) > end:
            piece -= 1
        fp[piece].append(start)
        start += 1 << piece


def compaction_free(cc: CompactControl, pfn: int, order: int) -> None:
    """Models `compaction_free()`: a destination that was not used goes back to the isolated list."""
    cc.freepages[order].append(pfn)
    cc.nr_freepages += 1 << order
    cc.nr_migratepages += 1 << order


def release_freepages(c: Compactor, cc: CompactControl) -> int:
    """Models `release_free_list()`: every unused isolated free page back to the buddy allocator
    (`__free_pages`, so each counts in PGFREE).

    Returns the highest pfn released (or -1), as the kernel's does (mm/compaction.c).
    """
    zone = cc.zone
    node = c.node
    kind = node.kind
    highest = -1
    for order in range(NR_PAGE_ORDERS):
        lst = cc.freepages[order]
        fill = c.free_fill[order]
        for pfn in reversed(lst):  # list_for_each_entry: from the head
            kind[pfn : pfn + (1 << order)] = fill
            zone.free_one_page(pfn, order)
            highest = max(highest, pfn)
        node.pgfree += len(lst) << order
        lst.clear()
    cc.nr_freepages = 0
    return highest
