"""The migration scanner: `isolate_migratepages()` and `isolate_migratepages_block()`."""

from __future__ import annotations

from bisect import bisect_left

from simcore.compaction.context import (
    SKIP_ASYNC_TYPE,
    SKIP_HINT,
    SKIP_NO_MOVABLE,
    SKIP_PERSISTENT,
    SKIP_UNMOVABLE,
    Compactor,
)
from simcore.compaction.control import (
    ISOLATE_NONE,
    ISOLATE_SUCCESS,
    CompactControl,
    MigrateMode,
)
from simcore.compaction.events import MmCompactionIsolateMigratepages
from simcore.constants import (
    COMPACT_CLUSTER_MAX,
    MAX_PAGE_ORDER,
    PAGEBLOCK_NR_PAGES,
    PAGEBLOCK_ORDER,
    MigrateType,
)

# enum members the scanners read for every pageblock, bound once (an Enum class attribute is a slow lookup)
_ASYNC = MigrateMode.ASYNC
_MOVABLE = int(MigrateType.MOVABLE)
_MASK = PAGEBLOCK_NR_PAGES - 1


def update_cached_migrate(cc: CompactControl, pfn: int) -> None:
    """Models `update_cached_migrate()`: remember how far the scanner got, per sync/async."""
    z = cc.zone
    if pfn > z.compact_cached_migrate_pfn[0]:
        z.compact_cached_migrate_pfn[0] = pfn
    if cc.mode != _ASYNC and pfn > z.compact_cached_migrate_pfn[1]:
        z.compact_cached_migrate_pfn[1] = pfn


def suitable_migration_source(c: Compactor, cc: CompactControl, block_start: int) -> int:
    """Models `suitable_migration_source()`. Returns 0 if the block may be scanned, else a skip reason.

    A block headed by a compound page of pageblock order or more (a huge page) is skipped for
    good (`pageblock_skip_persistent`); async direct compaction scans only blocks whose type
    suits the request (for a movable request: MOVABLE blocks).
    """
    if not c.old and c.node.alloc_order[block_start] > PAGEBLOCK_ORDER:
        return SKIP_PERSISTENT
    if cc.mode != _ASYNC or not cc.direct_compaction:
        return 0
    block_mt = c.node.pb_mt[block_start >> PAGEBLOCK_ORDER]
    if cc.migratetype == _MOVABLE:
        return 0 if block_mt == _MOVABLE else SKIP_ASYNC_TYPE
    return 0 if block_mt == cc.migratetype else SKIP_ASYNC_TYPE


def isolate_migratepages(c: Compactor, cc: CompactControl) -> int:
    """Models `isolate_migratepages()`: find the next block to scan and isolate from it.

    Blocks with the skip bit (unless the run ignores hints) and unsuitable source blocks are passed
    by whole; the first other block is scanned by `isolate_migratepages_block()`. The scanner
    never passes the free scanner: a block is scanned only if it ends at or below ``free_pfn``.
    """
    zone = cc.zone
    node = c.node
    low = cc.migrate_pfn
    block_start = max(low & ~_MASK, zone.start_pfn)
    block_end = (low & ~_MASK) + PAGEBLOCK_NR_PAGES
    while block_end <= cc.free_pfn:
        at_block_start = not (low & _MASK) or low == zone.start_pfn
        if (
            at_block_start
            and not c.old
            and not cc.ignore_skip_hint
            and node.pb_skip[block_start >> PAGEBLOCK_ORDER]
        ):
            c.note_migrate_block(block_start, SKIP_HINT)
        else:
            reason = suitable_migration_source(c, cc, block_start)
            if not reason:
                isolate_migratepages_block(c, cc, low, block_end)
                break
            c.note_migrate_block(block_start, reason)
            update_cached_migrate(cc, block_end)
        cc.migrate_pfn = low = block_end
        block_start = block_end
        block_end += PAGEBLOCK_NR_PAGES
    else:
        # ran into the free scanner's block; 2.6.35 moved the cursor past it (`end_pfn > free_pfn`)
        cc.migrate_pfn = block_end if c.old else low
    return ISOLATE_SUCCESS if cc.migratepages else ISOLATE_NONE


def isolate_migratepages_block(c: Compactor, cc: CompactControl, low: int, end: int) -> None:
    """Models `isolate_migratepages_block()` on [low, end): isolate movable pages, 32 at most
    (the rest of the block when ``cc.finish_pageblock``).

    Free pages are skipped by their order, compound pages that may not move are skipped, unmovable
    pages stay. In async direct compaction (`skip_on_failure`), one page that cannot be isolated
    drops what was isolated from its order-aligned chunk and skips the rest of the chunk: that
    chunk can never become a free block of the requested order.

    Skip bits (modern): a block entered at its start (``valid_page``) gets its skip bit when its
    first page is isolated (`test_and_set_skip`, unless the run ignores hints), or when it is
    scanned to its end with nothing isolated; a scan to the end with nothing isolated, or one that
    finishes the block, also moves the cached migrate pfn (`update_cached_migrate`).
    """
    node = c.node
    block_start = end - PAGEBLOCK_NR_PAGES
    start = low
    nr_isolated = 0
    mp = cc.migratepages
    first = len(mp)
    skip_on_failure = not c.old and cc.direct_compaction and cc.mode == _ASYNC and cc.order > 0
    cap = COMPACT_CLUSTER_MAX if c.old or not cc.finish_pageblock else 1 << 62
    stop = end
    failed_chunk = False
    touched = False  # a page was isolated (the lru lock taken), if later dropped
    heads: list[int] = []
    orders: list[int] = []
    ok: list[bool] = []
    i = n = 0
    next_skip = chunk = 0
    if not skip_on_failure:
        # the common case, without the chunk bookkeeping: isolate the isolatable heads from `low` on
        # until `cap` pages, found by bisection on their running page total
        okh, cum, lo, hi = c.isolatable(block_start, end, cc.order)
        a = bisect_left(okh, low, lo, hi)
        base = cum[a]
        b = bisect_left(cum, base + cap - cc.nr_migratepages, a + 1, hi + 1)
        if b <= hi:
            stop = okh[b - 1] + cum[b] - cum[b - 1]
        else:
            b = hi
        mp.extend(okh[a:b])
        nr_isolated = cum[b] - base
        cc.nr_migratepages += nr_isolated
        touched = nr_isolated > 0
    else:
        heads, orders, ok = c.migrate_candidates(block_start, end, cc.order)
        i = bisect_left(heads, low)
        n = len(heads)
        chunk = 1 << max(cc.order, 0)
        next_skip = ((low // chunk) + 1) * chunk
    while i < n:
        pfn = heads[i]
        if skip_on_failure and pfn >= next_skip:
            if nr_isolated:
                stop = next_skip
                break
            next_skip = ((pfn // chunk) + 1) * chunk
        if not ok[i]:
            if skip_on_failure:
                failed_chunk = True
                if nr_isolated:
                    del mp[first:]
                    cc.nr_migratepages -= nr_isolated
                    nr_isolated = 0
                i = bisect_left(heads, next_skip, i + 1)
                next_skip += chunk
                continue
            i += 1
            continue
        o = orders[i]
        mp.append(pfn)
        touched = True
        cc.nr_migratepages += 1 << o
        nr_isolated += 1 << o
        i += 1
        if cc.nr_migratepages >= cap:
            stop = pfn + (1 << o)
            break
    if stop > end:
        stop = end
    cc.migrate_pfn = stop
    c.note_migrate_block(block_start)
    _mark_block(c, cc, start, stop, end, nr_isolated, touched, failed_chunk)
    nr_scanned = stop - start
    if not c.old and start == block_start and stop == end and node.buddy[block_start] == MAX_PAGE_ORDER + 1:
        # the head of a free MAX_PAGE_ORDER block, which spans this pageblock and the next: the kernel
        # counts the whole block at its head (nr_scanned += 1 << order), then walks the next
        # pageblock's tail pages one by one, so such a block counts 1536 (kernel-mm-facts.md)
        nr_scanned = 1 << MAX_PAGE_ORDER
    cc.total_migrate_scanned += nr_scanned
    if nr_isolated:
        node.vm_events["compact_isolated"] += nr_isolated
    node.emit(MmCompactionIsolateMigratepages(node.tick, start, stop, nr_scanned, nr_isolated))


def _mark_block(
    c: Compactor, cc: CompactControl, start: int, stop: int, end: int, nr_isolated: int, touched: bool,
    failed_chunk: bool,
) -> None:
    """The skip bit and cached pfn rules at the end of `isolate_migratepages_block()`."""
    block = (end - 1) >> PAGEBLOCK_ORDER
    reason = SKIP_UNMOVABLE if failed_chunk else SKIP_NO_MOVABLE
    if c.old:
        # 2.6.35 had no skip bits: the reason is only for the dashboard
        if stop == end and not nr_isolated:
            c.skip_reason[block] = reason
            update_cached_migrate(cc, stop)
        return
    valid_page = not start & _MASK or start == cc.zone.start_pfn
    pb_skip = c.node.pb_skip
    if valid_page and touched and not cc.ignore_skip_hint:
        pb_skip[block] = 1  # test_and_set_skip() at the first page isolated
    if stop == end and (not nr_isolated or cc.finish_pageblock):
        if valid_page and not touched:
            pb_skip[block] = 1
        if not nr_isolated and pb_skip[block]:
            c.skip_reason[block] = reason
        update_cached_migrate(cc, stop)
