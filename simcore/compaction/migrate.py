"""`migrate_pages()` for compaction: move each isolated allocation into an isolated free page."""

from __future__ import annotations

from array import array

import numpy as np

from simcore.compaction.context import Compactor
from simcore.compaction.control import CompactControl
from simcore.compaction.events import MmCompactionMigratepages
from simcore.compaction.free_scan import compaction_alloc, compaction_alloc_order0, compaction_free, free_held
from simcore.node import Node

ENOMEM = -12
#: a batch whose pages' streams span fewer ids than this writes each stream's array with numpy
STREAM_SPAN = 8
#: order-0 moves whose page array writes are made at once (see flush_sources)
MOVE_BATCH = 1 << 15


def move_order0(node: Node, src: int, dst: int) -> None:
    """`Node.move_alloc(src, dst)` for an order-0 allocation, without its generic slicing.

    The hot path of a full compaction. It touches exactly what `move_alloc` does (the page kind,
    alloc_order and alloc_stream bytes, and the stream's position index through its public
    ``pfns`` / ``where`` fields); tests/test_compaction_migrate.py checks that both leave the same state.
    """
    kind = node.kind
    sid = node.alloc_stream[src]
    kind[dst] = kind[src]
    kind[src] = 0
    node.alloc_order[dst] = 1
    node.alloc_order[src] = 0
    node.alloc_stream[dst] = sid
    st = node.streams[sid]
    where = st.where
    i = where[src]
    st.pfns[i] = dst
    where[dst] = i


def move_order0_batch(c: Compactor, srcs: list[int] | array[int], dsts: list[int] | np.ndarray) -> None:
    """`move_order0(node, src, dst)` for each pair of a batch, as numpy writes over the page arrays.

    Sources are order-0 allocations, destinations isolated free pages: the two sets are disjoint,
    so the order of the writes does not matter. Each stream's ``pfns`` array is written through a
    numpy view too (page by page when the batch spans many streams). tests/test_compaction_migrate.py
    checks it against `move_alloc`.
    """
    if not srcs:
        return
    # (np.fromiter reads a list of ints faster than np.array, which first looks at every element;
    # np.array copies a typed array through the buffer protocol)
    if isinstance(srcs, array):
        s = np.array(srcs, dtype=np.intp)
    else:
        s = np.fromiter(srcs, dtype=np.intp, count=len(srcs))
    d = dsts if isinstance(dsts, np.ndarray) else np.fromiter(dsts, dtype=np.intp, count=len(dsts))
    kindv = c.kindv
    kindv[d] = kindv[s]
    kindv[s] = 0
    aov = c.aov
    aov[d] = 1
    aov[s] = 0
    asv = c.asv
    sids = asv[s]
    asv[d] = sids
    aiv = c.aiv
    pos = aiv[s]
    aiv[d] = pos
    streams = c.node.streams
    lo = int(sids.min())
    hi = int(sids.max())
    if hi - lo >= STREAM_SPAN:
        for sid, j, dst in zip(sids.tolist(), pos.tolist(), d.tolist(), strict=True):
            streams[sid].pfns[j] = dst
        return
    for sid in range(lo, hi + 1):
        # a view of the stream's array, dropped at once (valid until the stream grows)
        pfns = streams[sid].pfns.view()
        if lo == hi:
            pfns[pos] = d
        else:
            mine = sids == sid
            pfns[pos[mine]] = d[mine]
        del pfns


def flush_sources(c: Compactor, cc: CompactControl, final: bool = True) -> None:
    """Give the migrated-from order-0 pages held in ``cc.pending_free`` back to the buddy allocator.

    Within a burst of steps, a run that only looks at the free lists when its migration scanner
    is at a pageblock boundary (manual, direct and kcompactd runs in modern mode) holds the pages it
    migrates from until the scanner leaves their pageblock. If the pageblock is then entirely free,
    its free blocks come off the lists and it is freed as one order-9 block, one call instead of
    hundreds; otherwise each page is freed on its own. The buddy allocator ends in the same state as
    after freeing every page at once (a fully free pageblock merges to order 9 either way).

    The page array writes of the moves wait too (``cc.moved_src``, and the destinations as runs in
    ``cc.moved_dst`` and ``cc.moved_len``), and are
    made in one `move_order0_batch` for many pageblocks: at the ``final`` flush that ends every
    burst of steps, or once MOVE_BATCH have gathered. Nothing reads those pages in between: the
    destinations are isolated, above the migration scanner, and the sources are behind it (until
    then they keep their old kind, so a held pageblock is entirely free when its FREE pages and
    the held ones make up the whole block).
    """
    pending = cc.pending_free
    if pending:
        free_held(cc)
    if cc.moved_src and (final or len(cc.moved_src) >= MOVE_BATCH):
        move_order0_batch(c, cc.moved_src, expand_runs(cc.moved_dst, cc.moved_len))
        del cc.moved_src[:], cc.moved_dst[:], cc.moved_len[:]


def expand_runs(starts: array[int], lengths: array[int]) -> np.ndarray:
    """The pages of runs ``[starts[i], starts[i] + lengths[i])``, run after run, as one new array."""
    h = np.array(starts, dtype=np.intp)  # (a copy: the typed arrays may be emptied at once)
    n = np.frombuffer(lengths, dtype=np.int64)
    total = int(n.sum())
    if total == len(h):
        return h
    # page j of the whole is its run's start plus j minus the pages of the runs before it
    before = np.cumsum(n) - n
    return np.repeat(h - before, n) + np.arange(total, dtype=np.intp)


def migrate_pages(c: Compactor, cc: CompactControl) -> int:
    """Models `migrate_pages(&cc->migratepages, compaction_alloc, compaction_free, ...)`.

    Every isolated allocation moves, owner and all (`Node.move_alloc`), into a destination from
    `compaction_alloc()`; its old pages are freed into the buddy allocator (where they merge). A
    configurable share of migrations fails (`migrate_fail_rate`, as pages under writeback or pinned
    would): the page stays where it is and the destination goes back. If no destination can be
    found for an order-0 page the rest is put back and -ENOMEM returned, as the kernel does; a
    compound page without a destination of its order counts as one failure. Order-0 pages (the
    common case) get their destinations in one bulk call. Returns 0 or -ENOMEM.
    """
    node = c.node
    zone = cc.zone
    alloc_order = node.alloc_order
    fail_rate = c.settings.migrate_fail_rate
    srcs = cc.migratepages
    draws = node.rng.random(len(srcs)).tolist() if fail_rate > 0 else None
    nr_succeeded = nr_failed = failed_folios = 0
    err = 0
    free_one_page = zone.free_one_page
    order0: list[int] | range
    compound: list[int] = []
    moved: array[int]
    if cc.nr_migratepages == len(srcs):
        order0 = range(len(srcs))  # no compound page in the batch
    else:
        order0 = []
        for i, src in enumerate(srcs):
            (order0 if alloc_order[src] == 1 else compound).append(i)
    if order0:
        starts, lengths, got = compaction_alloc_order0(c, cc, len(order0))
        if got < len(order0):
            err = ENOMEM
            nr_failed += len(order0) - got
            cc.nr_migratepages -= len(order0) - got
        if draws is None:
            moved = srcs if got == len(srcs) else array("q", [srcs[i] for i in order0[:got]])
        else:
            dsts = expand_runs(starts, lengths).tolist()
            moved = array("q")
            kept: list[int] = []
            for i, dst in zip(order0, dsts, strict=False):
                if draws[i] < fail_rate:
                    compaction_free(cc, dst, 0)
                    cc.nr_migratepages -= 1
                    nr_failed += 1
                    failed_folios += 1
                    continue
                moved.append(srcs[i])
                kept.append(dst)
            starts = array("q", kept)
            lengths = array("q", [1]) * len(kept)
        if moved:
            if cc.defer_frees:
                # the moves' page array writes wait with the frees (see flush_sources)
                cc.pending_free.extend(moved)
                cc.moved_src.extend(moved)
                cc.moved_dst.extend(starts)
                cc.moved_len.extend(lengths)
            else:
                move_order0_batch(c, moved, expand_runs(starts, lengths))
                for p in moved:
                    free_one_page(p, 0)
            nr_succeeded += len(moved)
    for i in compound:
        if err:
            continue  # put back: it stays where it is
        moved_pages = move_compound(c, cc, srcs[i], draws is not None and draws[i] < fail_rate)
        if moved_pages > 0:
            nr_succeeded += moved_pages
        else:
            nr_failed -= moved_pages
            failed_folios += 1
    node.pgfree += nr_succeeded
    del srcs[:]
    cc.nr_migratepages = 0
    ev = node.vm_events
    cc.nr_migrated += nr_succeeded
    cc.nr_failed += nr_failed
    if c.old:
        ev["compact_blocks_moved"] += 1
        ev["compact_pages_moved"] += nr_succeeded
        ev["compact_pagemigrate_failed"] += nr_failed
    else:
        ev["pgmigrate_success"] += nr_succeeded
        ev["pgmigrate_fail"] += nr_failed
    node.emit(MmCompactionMigratepages(node.tick, nr_succeeded, nr_failed))
    # as the kernel's: -ENOMEM, else how many folios were not migrated
    return err or failed_folios


def move_compound(c: Compactor, cc: CompactControl, src: int, fail: bool = False) -> int:
    """Migrate one compound page on its own: a destination of its order from `compaction_alloc()`,
    the move, its old pages freed (a drawn failure gives the destination back). Returns the pages
    moved, or minus the pages that failed."""
    node = c.node
    order = node.alloc_order[src] - 1
    n = 1 << order
    dst = compaction_alloc(c, cc, order)
    if dst < 0 or fail:
        if dst >= 0:
            compaction_free(cc, dst, order)
        cc.nr_migratepages -= n
        return -n
    node.move_alloc(src, dst)
    cc.zone.free_one_page(src, order)
    return n
