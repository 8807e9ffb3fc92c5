"""The common turn of `compact_zone()`'s loop, fused: many 32-page steps in one Python frame.

Theory of operation
-------------------
A full-speed compaction run spends almost all of its turns in one situation: the migration
scanner isolates up to 32 pages from a pageblock it may scan, the free scanner above it finds
their destinations in the pageblock it is on (or the next ones down), and the pages move.
`CompactionRun.step()` does that through about twenty functions (compact_finished,
isolate_migratepages, isolate_migratepages_block, migrate_pages, compaction_alloc_order0,
isolate_freepages, isolate_freepages_block, ...), each re-reading the state. `common_steps()` does
the same turns in one loop with the state in local variables: the migration side by bisection on
the pageblock's isolatable heads (`Compactor.isolatable`), and the destinations:

- from the isolated free pages, when they are enough (`take_isolated`, smallest order first);
- otherwise the free scanner runs. Its walk is first planned without touching anything: the
  pageblock at its cursor and, if that is not enough, the next ones down (`_plan_more`), each of
  which must be the common case (a MOVABLE target, no skip bit, free pages from the cursor on,
  the watermark out of reach). A walk within one pageblock, most of them, is then taken inline in
  the loop; a longer one by `_take_walk`. Either way the free blocks are isolated by slice writes
  over the page arrays and handed out order by order (`_give`) as `compaction_alloc()` would;
- if the plan fails, `_free_walk()` (the fused walk that hands over to `walk_freepages()` itself)
  or `compaction_alloc_order0()` does it the long way.

Compound pages in a batch move one by one as in `migrate_pages()`.

It returns to `step()` at the first turn that is anything else: the scanners about to meet, a
pageblock with nothing left to isolate (the skip bit and reason are set there), a pageblock start
in a run with an order (where `compact_finished()` looks at the free lists), a huge page heading
the block, or a shortage of destinations (-ENOMEM, which ends the run). It leaves exactly the state
and the events that the same number of `step()` calls would; tests/test_compaction_burst.py checks
this on many zones, comparing page arrays, free lists in order, counters and every event.

It is used within a burst of steps only (`CompactionRun.run()` and `advance()`), for modern-mode
runs that are sync or sync-light, not proactive, with no migration failures drawn and no event
listeners: the runs whose turns are all alike. Everything else takes `step()` each turn.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Sequence
from itertools import compress
from typing import TYPE_CHECKING

from simcore.compaction.context import Compactor
from simcore.compaction.control import CompactControl, CompactResult, MigrateMode, target_free_limit
from simcore.compaction.events import (
    MmCompactionFinished,
    MmCompactionIsolateFreepages,
    MmCompactionIsolateMigratepages,
    MmCompactionMigratepages,
)
from simcore.compaction.free_scan import (
    FREE_TO_ISOLATED,
    ZEROS,
    compaction_alloc_order0,
    put_back,
    take_free_blocks,
    take_isolated,
    walk_freepages,
)
from simcore.compaction.migrate import flush_sources, move_compound
from simcore.constants import COMPACT_CLUSTER_MAX, PAGEBLOCK_NR_PAGES, PAGEBLOCK_ORDER, MigrateType
from simcore.zone import WMARK_MIN

_ASYNC = MigrateMode.ASYNC
_CONTINUE = int(CompactResult.CONTINUE)
_MASK = PAGEBLOCK_NR_PAGES - 1
_FINISHED = MmCompactionFinished.name
_ISOLATE_MIGRATE = MmCompactionIsolateMigratepages.name
_MIGRATE = MmCompactionMigratepages.name
_ISOLATE_FREE = MmCompactionIsolateFreepages.name
_MOVABLE = int(MigrateType.MOVABLE)
#: bytes 0 <-> 1 (a mask's complement, for `itertools.compress`)
_FLIP = bytes([1, 0]) + bytes(254)
#: run lengths of destinations: _RUNS[order] repeats 1 << order
_RUNS = [array("q", [1 << o]) * PAGEBLOCK_NR_PAGES for o in range(PAGEBLOCK_ORDER + 1)]
_ONES = _RUNS[0]


def fusable(c: Compactor, cc: CompactControl) -> bool:
    """Whether a run's turns may go through `common_steps()` at all."""
    return (
        not c.old
        and cc.mode != _ASYNC
        and not cc.proactive_compaction
        and cc.defer_frees
        and c.settings.migrate_fail_rate <= 0
        and not c.node.listeners
    )


def common_steps(c: Compactor, cc: CompactControl, limit: int) -> tuple[int, bool]:
    """Up to `limit` turns of the loop while each is the common case (see the module docstring).

    Returns (turns taken, out_of_memory): the second is True if the last turn found fewer free
    pages than it isolated to migrate (-ENOMEM from migrate_pages), for the caller to end the run
    as `step()` would.
    """
    node = c.node
    zone = cc.zone
    events = node.events
    emit = events.append
    tick = node.tick
    order = cc.order
    alloc_order = node.alloc_order
    mp = cc.migratepages
    fp = cc.freepages
    fp0 = fp[0]
    pending = cc.pending_free
    moved_src = cc.moved_src
    moved_dst = cc.moved_dst
    moved_len = cc.moved_len
    zone_start = zone.start_pfn
    trail = c.trail_migrate
    isolatable = c.isolatable
    # compact_finished()'s event is the same for every such turn, and migrate_pages()'s for every
    # full batch: events never change once emitted, so the turns share them
    finished = MmCompactionFinished(tick, node.nid, zone.idx, order, _CONTINUE)
    whole = MmCompactionMigratepages(tick, COMPACT_CLUSTER_MAX, 0)
    steps = 0
    migrated = 0
    isolated = 0
    oom = False
    # the free scanner's side (see the fast path in the turn below)
    buddy = node.buddy
    pb_mt = node.pb_mt
    pb_skip = node.pb_skip
    ignore_suitable = cc.ignore_block_suitable
    ignore_skip = cc.ignore_skip_hint
    zone_end = zone.end_pfn
    mark = zone.watermark[WMARK_MIN]
    fcur = -1  # the pageblock whose free heads are in fheads (its range [flo, fhi))
    fheads: array[int] = array("q")
    fcum: Sequence[int] = []
    fby: list[tuple[int, array[int], array[int]]] = []
    flo = fhi = 0
    fnext = fnext_at = -1  # the pfn where the free scanner stopped in fcur, and its head index there
    trail_free = c.trail_free
    kind = node.kind
    free_area_by_type = zone.free_area_by_type
    free_events = 0
    free_scanned = 0
    if cc.contended or mp:
        return 0, False
    current = -1  # the pageblock whose isolatable heads are in `heads` (from index `a` on)
    heads: array[int] = array("q")
    cum: Sequence[int] = []
    small = b""  # one byte per head of `heads`: 1 for an order-0 page
    a = hi = 0
    while steps < limit:
        low = cc.migrate_pfn
        if low <= zone_start:
            break
        # at a pageblock's start, only a manual run's turns are alike: compact_finished() looks at
        # the free lists there for a run with an order (and the skip bits are ignored by manual runs)
        at_start = not low & _MASK
        if at_start and order >= 0:
            break
        block_start = low & ~_MASK
        block_end = block_start + PAGEBLOCK_NR_PAGES
        free_pfn = cc.free_pfn
        # the scanners apart, the block's end below the free scanner
        if block_end > free_pfn or (free_pfn >> PAGEBLOCK_ORDER) <= (low >> PAGEBLOCK_ORDER):
            break
        if block_start != current:
            if not at_start and pending and pending[0] >> PAGEBLOCK_ORDER != low >> PAGEBLOCK_ORDER:
                break
            if alloc_order[block_start] > PAGEBLOCK_ORDER:  # suitable_migration_source: persistent skip
                break
            heads, cum, lo, hi = isolatable(block_start, block_end, order)
            small = c.isolatable_order0
            a = bisect_left(heads, low, lo, hi)
            current = block_start
        # isolate_migratepages_block(): the isolatable heads from `low` on (heads[a:]), 32 pages' worth
        if a == hi:
            break  # nothing left in the block: step() sets the skip bit
        base = cum[a]
        b = a + COMPACT_CLUSTER_MAX
        if b > hi or cum[b] - base != COMPACT_CLUSTER_MAX:  # (not 32 order-0 heads in a row)
            b = bisect_left(cum, base + COMPACT_CLUSTER_MAX, a + 1, hi + 1)
        if b <= hi:
            stop = heads[b - 1] + cum[b] - cum[b - 1]
        else:
            b = hi
            stop = block_end
        n = cum[b] - base  # pages isolated (more than b - a if compound pages are among them)
        # the turn is the common case from here on
        if at_start and pending:
            # the pages held from the pageblock the migration scanner has left go back first
            flush_sources(c, cc, final=False)
        # compact_finished() said continue
        steps += 1
        emit(finished)
        srcs = heads[a:b]
        first_src = a
        a = b  # the next turn starts at stop, which is where heads[b] is or after it
        if stop > block_end:
            stop = block_end
        cc.migrate_pfn = stop
        if not trail or trail[-1] != block_start:
            trail.append(block_start)
        cc.total_migrate_scanned += stop - low
        cc.nr_migratepages = n
        isolated += n
        emit(MmCompactionIsolateMigratepages(tick, low, stop, stop - low, n))
        # migrate_pages(): the order-0 pages get their destinations from compaction_alloc() at once
        compound: list[int] = []
        srcs0: array[int] | list[int]
        if n == len(srcs):
            srcs0 = srcs
        else:
            # (typed once: it joins two typed arrays, and each int costs a conversion)
            order0 = small[first_src:b]
            srcs0 = array("q", compress(srcs, order0))
            compound = list(compress(srcs, order0.translate(_FLIP)))
        n0 = len(srcs0)
        failed = 0
        got = n0  # destinations found, as runs of pages in moved_dst / moved_len
        if not n0:
            pass
        elif len(fp0) >= n0:
            moved_dst.extend(fp0[-n0:])
            moved_len.extend(_ONES[:n0])
            del fp0[-n0:]
            cc.nr_freepages -= n0
            cc.nr_migratepages -= n0
        elif cc.nr_freepages >= n0:
            # compaction_alloc() from the isolated pages of several orders, no scan needed
            take_isolated(fp, n0, moved_dst, moved_len)
            cc.nr_freepages -= n0
            cc.nr_migratepages -= n0
        else:
            # the isolated pages are not enough: compaction_alloc() takes them all (d pages), then
            # the free scanner runs, then it takes from what the scanner isolated. The scanner's
            # common case is inline: its pageblock is a target and holds the pages wanted from its
            # cursor on (or it and the next ones down do), with the watermark far away
            d = cc.nr_freepages
            plan: list[WalkBlock] | None = None
            single = False  # the walk takes what it needs from this pageblock alone
            if order <= 0:
                fstart = cc.free_pfn
                fblock = fstart & ~_MASK
                fb = fblock >> PAGEBLOCK_ORDER
                low_free = (stop & ~_MASK) + PAGEBLOCK_NR_PAGES
                if (
                    fblock >= low_free
                    and fblock + PAGEBLOCK_NR_PAGES <= zone_end
                    and not (buddy[fblock] and buddy[fblock] - 1 >= target_free_limit(order))
                    and (ignore_suitable or pb_mt[fb] == _MOVABLE)
                    and (ignore_skip or not pb_skip[fb])
                ):
                    if fblock != fcur:
                        fheads, fcum, flo, fhi = c.free_candidates(fblock, fblock + PAGEBLOCK_NR_PAGES)
                        fby = c.free_by_order
                        fcur = fblock
                        fnext = -1
                    # (where the last turn's walk stopped in this block, the next head is known)
                    fa = fnext_at if fstart == fnext else bisect_left(fheads, fstart, flo, fhi)
                    if fa < fhi:
                        fbase = fcum[fa]
                        room = zone.free_pages + len(pending) - mark
                        if fcum[fhi] - fbase < room:
                            enough = bisect_left(fcum, fbase + n - d, fa + 1, fhi + 1)
                            if enough <= fhi:
                                single = True
                            else:
                                # the rest of this block is not enough: the walk goes on down
                                rest = fcum[fhi] - fbase
                                below = _plan_more(c, cc, fblock, low_free, n - d - rest, room - rest)
                                if below is not None:
                                    plan = [(fblock, fstart, fheads, fcum, fby, fa, fhi, True), *below]
            if single:
                # `_take_walk` for one pageblock, inline: heads[fa:enough] isolated, then given out
                if d:
                    take_isolated(fp, d, moved_dst, moved_len)
                if not trail_free or trail_free[-1] != fblock:
                    trail_free.append(fblock)
                last = fheads[enough - 1] + fcum[enough] - fcum[enough - 1]
                total = fcum[enough] - fbase
                first = fheads[fa]
                kind[first:last] = kind[first:last].translate(FREE_TO_ISOLATED)
                buddy[first:last] = ZEROS[: last - first]
                zone.free_pages -= total
                isolated += total
                if last >= fblock + PAGEBLOCK_NR_PAGES:
                    last = fblock + PAGEBLOCK_NR_PAGES
                    pb_skip[fb] = 1
                    down = fblock - PAGEBLOCK_NR_PAGES
                    if down < zone.compact_cached_free_pfn:
                        zone.compact_cached_free_pfn = down if down > zone_start else zone_start
                    cc.free_pfn = down
                else:
                    cc.free_pfn = last
                free_scanned += last - fstart
                emit(MmCompactionIsolateFreepages(tick, fstart, last, last - fstart, total))
                free_events += 1
                fnext = cc.free_pfn
                fnext_at = enough
                cc.nr_freepages += total - n0
                cc.nr_migratepages -= n0
                mt = pb_mt[fb]
                need = n0 - d
                for o, ho, cnt in fby:
                    i = cnt[fa]
                    j = cnt[enough]
                    if i == j:
                        continue
                    chunk = ho[i:j]
                    c.take_off_lists(free_area_by_type[mt], mt, o, chunk)
                    need = _give(fp, o, chunk, need, moved_dst, moved_len)
            elif plan is not None:
                if d:
                    take_isolated(fp, d, moved_dst, moved_len)
                free_scanned += _take_walk(c, cc, plan, n0 - d, moved_dst, moved_len)
                fnext = -1
                free_events += len(plan)
                cc.nr_freepages -= n0
                cc.nr_migratepages -= n0
            elif d == len(fp0) and order <= 0:
                moved_dst.extend(fp0)
                moved_len.extend(_ONES[:d])
                fp0.clear()
                _free_walk(c, cc, stop)
                left = take_isolated(fp, n0 - d, moved_dst, moved_len)
                placed = n0 - left
                cc.nr_freepages -= placed
                cc.nr_migratepages -= placed
                got = placed
                if left and placed > d:
                    # it found some but not enough: compaction_alloc() runs the free scanner again
                    mp.extend(srcs)
                    more = compaction_alloc_order0(c, cc, left)
                    mp.clear()
                    moved_dst.extend(more)
                    moved_len.extend(_ONES[: len(more)])
                    got += len(more)
            else:
                mp.extend(srcs)  # as isolated, while the free scanner runs
                more = compaction_alloc_order0(c, cc, n0)
                mp.clear()
                moved_dst.extend(more)
                moved_len.extend(_ONES[: len(more)])
                got = len(more)
        if got < n0:
            # -ENOMEM: the rest stay where they are (as migrate_pages() puts them back), and so
            # do the compound pages
            oom = True
            failed = n0 - got
            srcs0 = srcs0[:got]
            compound = []
        k = got
        pending.extend(srcs0)
        moved_src.extend(srcs0)
        for src in compound:
            moved_pages = move_compound(c, cc, src)
            if moved_pages > 0:
                k += moved_pages
            else:
                failed -= moved_pages
        cc.nr_migratepages = 0
        migrated += k
        cc.nr_migrated += k
        if failed:
            node.vm_events["pgmigrate_fail"] += failed
            cc.nr_failed += failed
        emit(whole if k == COMPACT_CLUSTER_MAX and not failed else MmCompactionMigratepages(tick, k, failed))
        if oom:
            break
    if free_events:
        counts = node.event_counts
        counts[_ISOLATE_FREE] = counts.get(_ISOLATE_FREE, 0) + free_events
    cc.total_free_scanned += free_scanned
    if steps:
        counts = node.event_counts
        counts[_FINISHED] = counts.get(_FINISHED, 0) + steps
        counts[_ISOLATE_MIGRATE] = counts.get(_ISOLATE_MIGRATE, 0) + steps
        counts[_MIGRATE] = counts.get(_MIGRATE, 0) + steps
        ev = node.vm_events
        ev["compact_isolated"] += isolated
        ev["pgmigrate_success"] += migrated
        node.pgfree += migrated
    return steps, oom


#: one pageblock of a free scanner walk planned by the fused loop: (block start, the scanner's cursor
#: in it, the `Compactor.free_candidates` window's heads, cum and free_by_order, the range [a, b)
#: of heads it takes, whether it takes the block to its end)
if TYPE_CHECKING:
    WalkBlock = tuple[
        int, int, array[int], Sequence[int], list[tuple[int, array[int], array[int]]], int, int, bool
    ]


def _plan_more(
    c: Compactor, cc: CompactControl, block_start: int, low: int, want: int, room: int
) -> list[WalkBlock] | None:
    """The pageblocks below ``block_start`` that a walk of `_free_walk` takes ``want`` more pages
    from, if each is the common case (a target with free pages, the watermark far away, above
    ``low``); None if any is not (`_free_walk` then does the walk). ``room`` is how far the free
    pages are above the watermark once the blocks before are taken."""
    node = c.node
    buddy = node.buddy
    pb_mt = node.pb_mt
    pb_skip = node.pb_skip
    plan: list[WalkBlock] = []
    while len(plan) < 8:
        block_start -= PAGEBLOCK_NR_PAGES
        if block_start < low:
            return None
        b = block_start >> PAGEBLOCK_ORDER
        head = buddy[block_start]
        if head and head - 1 >= target_free_limit(cc.order):
            return None
        if not cc.ignore_block_suitable and pb_mt[b] != _MOVABLE:
            return None
        if not cc.ignore_skip_hint and pb_skip[b]:
            return None
        heads, cum, lo, hi = c.free_candidates(block_start, block_start + PAGEBLOCK_NR_PAGES)
        if lo == hi:
            return None  # an empty block: the stride doubles
        base = cum[lo]
        if cum[hi] - base >= room:
            return None
        enough = bisect_left(cum, base + want, lo + 1, hi + 1)
        whole = enough > hi
        plan.append(
            (block_start, block_start, heads, cum, c.free_by_order, lo, hi if whole else enough, whole)
        )
        if not whole:
            return plan
        want -= cum[hi] - base
        room -= cum[hi] - base
    return None


def _take_walk(
    c: Compactor,
    cc: CompactControl,
    plan: list[WalkBlock],
    need: int,
    moved_dst: array[int],
    moved_len: array[int],
) -> int:
    """The free scanner's common walk and the destinations it gives, in one call: what
    `_free_walk` followed by `take_isolated` do when the pool holds no isolated pages and the walk
    takes the free blocks of ``plan`` (`_plan_more`; the last block from its cursor up to the
    pages wanted, the ones before it to their end).

    The blocks are isolated as `take_free_blocks` does and `need` order-0 destinations are taken
    from them as `take_isolated` would (the smallest order first, the last block of an order
    first, the block that is larger than what is left split); the rest stay isolated in
    ``cc.freepages``. Emits mm_compaction_isolate_freepages for each pageblock; returns the pages
    scanned (the caller counts the events and adds the pages to ``total_free_scanned``)."""
    node = c.node
    zone = cc.zone
    trail = c.trail_free
    kind = node.kind
    events = node.events
    taken: dict[int, array[int]] = {}
    scanned = 0
    isolated = 0
    for block_start, start, heads, cum, by_order, a, b, whole in plan:
        if not trail or trail[-1] != block_start:
            trail.append(block_start)
        last = heads[b - 1] + cum[b] - cum[b - 1]
        total = cum[b] - cum[a]
        first = heads[a]
        kind[first:last] = kind[first:last].translate(FREE_TO_ISOLATED)
        node.buddy[first:last] = ZEROS[: last - first]
        zone.free_pages -= total
        isolated += total
        block_end = block_start + PAGEBLOCK_NR_PAGES
        if whole or last >= block_end:
            last = block_end
            node.pb_skip[block_start >> PAGEBLOCK_ORDER] = 1
            if block_start - PAGEBLOCK_NR_PAGES < zone.compact_cached_free_pfn:
                zone.compact_cached_free_pfn = (
                    block_start - PAGEBLOCK_NR_PAGES
                    if block_start - PAGEBLOCK_NR_PAGES > zone.start_pfn
                    else zone.start_pfn
                )
            cc.free_pfn = block_start - PAGEBLOCK_NR_PAGES
        else:
            cc.free_pfn = last
        scanned += last - start
        events.append(MmCompactionIsolateFreepages(node.tick, start, last, last - start, total))
        mt = node.pb_mt[block_start >> PAGEBLOCK_ORDER]
        for o, ho, cnt in by_order:
            i = cnt[a]
            j = cnt[b]
            if i == j:
                continue
            chunk = ho[i:j]
            c.take_off_lists(zone.free_area_by_type[mt], mt, o, chunk)
            if o in taken:
                taken[o] = taken[o] + chunk
            else:
                taken[o] = chunk
    cc.nr_freepages += isolated
    node.vm_events["compact_isolated"] += isolated
    fp = cc.freepages
    for o in sorted(taken):
        need = _give(fp, o, taken[o], need, moved_dst, moved_len)
    return scanned


def _give(
    fp: list[list[int]], o: int, chunk: array[int], need: int, moved_dst: array[int], moved_len: array[int]
) -> int:
    """`take_isolated` for the blocks of order `o` the free scanner just isolated (``chunk``, in
    pfn order), the isolated lists of every smaller order being empty: up to `need` order-0
    destinations from them as runs in ``moved_dst`` / ``moved_len`` (the last block first, the
    one larger than what is left split, its unused part back on the lists in buddy-aligned
    pieces), the rest onto ``fp[o]``. Returns how many are still needed."""
    m = len(chunk)
    if need <= 0:
        fp[o] += chunk
        return need
    if not o:
        k = need if need < m else m
        moved_dst += chunk[m - k :]
        moved_len += _ONES[:k]
        if k < m:
            fp[0] += chunk[: m - k]
        return need - k
    size = 1 << o
    k = need >> o
    if k > m:
        k = m
    if k:
        # whole blocks, the last isolated first
        whole_blocks = chunk[m - k :]
        whole_blocks.reverse()
        moved_dst += whole_blocks
        moved_len += _RUNS[o][:k]
        need -= k << o
    rest = m - k
    if need and rest:
        # a block larger than what is left: split
        rest -= 1
        pfn = chunk[rest]
        moved_dst.append(pfn)
        moved_len.append(need)
        put_back(fp, pfn + need, pfn + size)
        need = 0
    if rest:
        fp[o] += chunk[:rest]
    return need


def _free_walk(c: Compactor, cc: CompactControl, migrate_pfn: int) -> None:
    """`isolate_freepages()` in a sync modern run (stride 1, no fast search), with the same outcome:
    the pageblock walk down from ``free_pfn``, fused while each block is the common case (a target
    with free pages from the cursor on, the watermark not in the way), then `walk_freepages()`
    for the rest of the walk from the first block that is not."""
    zone = cc.zone
    node = c.node
    events = node.events
    pb_skip = node.pb_skip
    trail = c.trail_free
    isolate_start = cc.free_pfn
    block_start = isolate_start & ~_MASK
    block_end = min(block_start + PAGEBLOCK_NR_PAGES, zone.end_pfn)
    low = (migrate_pfn & ~_MASK) + PAGEBLOCK_NR_PAGES
    mark = zone.watermark[WMARK_MIN]
    emitted = 0
    while block_start >= low:
        b = block_start >> PAGEBLOCK_ORDER
        head = node.buddy[block_start]
        if head and head - 1 >= target_free_limit(cc.order):
            break
        if not cc.ignore_block_suitable and node.pb_mt[b] != _MOVABLE:
            break
        if not cc.ignore_skip_hint and pb_skip[b]:
            break
        heads, cum, lo, hi = c.free_candidates(block_end - PAGEBLOCK_NR_PAGES, block_end)
        a = bisect_left(heads, isolate_start, lo, hi)
        if a == hi:
            break  # nothing from the cursor on: the stride would double
        base = cum[a]
        room = zone.free_pages + len(cc.pending_free) - mark
        enough = bisect_left(cum, base + cc.nr_migratepages - cc.nr_freepages, a + 1, hi + 1)
        if cum[hi] - base >= room:
            # the watermark may refuse a block here: the first refused is the smallest j with
            # cum[j + 1] - base >= room (as in _isolate_freepages_run)
            refused = bisect_left(cum, base + room, a + 1, hi + 1) - 1
            if refused < enough:
                break  # the watermark stops it in this block
        # isolate_freepages_block(): the run of free blocks from the cursor
        if not trail or trail[-1] != block_start:
            trail.append(block_start)
        last_idx = enough if enough <= hi else hi
        last = heads[last_idx - 1] + cum[last_idx] - cum[last_idx - 1]
        total = cum[last_idx] - base
        take_free_blocks(c, cc, heads, a, last_idx, last, total)
        p = last if enough <= hi else block_end
        nr_scanned = p - isolate_start
        if p > block_end:
            p = block_end
        cc.total_free_scanned += nr_scanned
        events.append(MmCompactionIsolateFreepages(node.tick, isolate_start, p, nr_scanned, total))
        emitted += 1
        if p == block_end:
            pb_skip[b] = 1
            if block_start - PAGEBLOCK_NR_PAGES < zone.compact_cached_free_pfn:
                zone.compact_cached_free_pfn = (
                    block_start - PAGEBLOCK_NR_PAGES
                    if block_start - PAGEBLOCK_NR_PAGES > zone.start_pfn
                    else zone.start_pfn
                )
        if enough <= hi:  # enough isolated
            isolate_start = block_start - PAGEBLOCK_NR_PAGES if p >= block_end else p
            break
        # the block is used up and took pages: on to the next one, stride 1
        block_end = block_start
        block_start -= PAGEBLOCK_NR_PAGES
        isolate_start = block_start
    else:
        cc.free_pfn = isolate_start
        isolate_start = -1
    if emitted:
        counts = node.event_counts
        counts[_ISOLATE_FREE] = counts.get(_ISOLATE_FREE, 0) + emitted
    if isolate_start < 0:
        return
    if cc.nr_freepages >= cc.nr_migratepages:
        cc.free_pfn = isolate_start
    else:
        walk_freepages(c, cc, isolate_start, 1)
