"""Compaction rules corrected against Linux 6.18 (issue 14, items 2, 4 and 7; kernel-mm-facts.md).

* mm/compaction.c `isolate_migratepages_block()`: a free buddy head adds ``1 << order`` to
  nr_scanned; a free MAX_PAGE_ORDER block spans two pageblocks, so the first counts 1024 and the
  second, walked page by page through the block's tail pages, 512 (real trace: `(0x400 ~ 0x600)
  nr_scanned=1024`, then `(0x600 ~ 0x800) nr_scanned=512`).
* mm/compaction.c `release_free_list()`: returns the highest pfn released, and `compact_zone()`
  moves `compact_cached_free_pfn` only up, to that pfn's pageblock.
* The pages `release_free_list()` gives back go through `__free_pages()`, which counts PGFREE.
"""

from __future__ import annotations

from compaction_helpers import compactor, layout_node, manual_run, pattern

from simcore.compaction.control import CompactResult
from simcore.compaction.events import MmCompactionIsolateMigratepages
from simcore.compaction.free_scan import (
    compaction_alloc_order0,
    isolate_freepages_block,
    release_freepages,
    suitable_migration_target,
)
from simcore.constants import PAGEBLOCK_NR_PAGES, PageKind
from simcore.invariants import check


def _run_to_end(blocks: list[str]) -> list[MmCompactionIsolateMigratepages]:
    node = layout_node(pattern(blocks))
    run = manual_run(compactor(node))
    while run.step() == CompactResult.CONTINUE:
        pass
    check(node)
    return [e for e in node.events if isinstance(e, MmCompactionIsolateMigratepages)]


def test_a_free_max_order_block_counts_1024_then_512_migrate_scanned() -> None:
    # pageblocks 0 and 1 are one free order-10 block; movable pages above it to migrate
    events = _run_to_end(["."] * 2 + ["a."] * 2 + ["a..."] * 4)
    first, second = events[0], events[1]
    assert (first.start_pfn, first.end_pfn, first.nr_scanned, first.nr_taken) == (0, 512, 1024, 0)
    assert (second.start_pfn, second.end_pfn, second.nr_scanned, second.nr_taken) == (512, 1024, 512, 0)


def test_a_free_pageblock_that_is_not_a_max_order_head_counts_its_pages() -> None:
    # pageblock 1 is free but its buddy (block 0) is not: an order-9 block, counted 512
    events = _run_to_end(["a."] + ["."] + ["a."] * 2 + ["a..."] * 4)
    free_block = [e for e in events if e.start_pfn == PAGEBLOCK_NR_PAGES]
    assert free_block and free_block[0].nr_scanned == PAGEBLOCK_NR_PAGES


def test_release_returns_the_highest_pfn_and_counts_pgfree() -> None:
    node = layout_node(pattern(["a."] * 8))
    c = compactor(node)
    run = manual_run(c)
    cc = run.cc
    zone = node.zones[0]
    taken = []
    for pfn in (3, 1027, 2051):  # free order-0 pages in three pageblocks, isolated by hand
        zone.del_free_block(pfn, 0)
        node.kind[pfn] = PageKind.ISOLATED_FREE
        cc.freepages[0].append(pfn)
        taken.append(pfn)
    cc.nr_freepages = len(taken)
    before = node.pgfree
    assert release_freepages(c, cc) == max(taken)  # not the lowest, 3
    assert node.pgfree - before == len(taken)
    check(node)


def test_the_cached_free_pfn_moves_only_up_to_the_highest_released_block() -> None:
    node = layout_node(pattern(["a."] * 8))
    run = manual_run(compactor(node))
    cc = run.cc
    zone = node.zones[0]
    for pfn in (5, 3 * PAGEBLOCK_NR_PAGES + 7):
        zone.del_free_block(pfn, 0)
        node.kind[pfn] = PageKind.ISOLATED_FREE
        cc.freepages[0].append(pfn)
    cc.nr_freepages = 2
    zone.compact_cached_free_pfn = PAGEBLOCK_NR_PAGES  # below the highest released block: goes up
    run.finish(CompactResult.COMPLETE)
    assert zone.compact_cached_free_pfn == 3 * PAGEBLOCK_NR_PAGES
    # above it already: stays
    node2 = layout_node(pattern(["a."] * 8))
    run2 = manual_run(compactor(node2))
    zone2 = node2.zones[0]
    zone2.del_free_block(5, 0)
    node2.kind[5] = PageKind.ISOLATED_FREE
    run2.cc.freepages[0].append(5)
    run2.cc.nr_freepages = 1
    zone2.compact_cached_free_pfn = 6 * PAGEBLOCK_NR_PAGES
    run2.finish(CompactResult.COMPLETE)
    assert zone2.compact_cached_free_pfn == 6 * PAGEBLOCK_NR_PAGES


def test_a_target_block_headed_by_a_free_block_of_the_request_order_is_refused() -> None:
    # mm/compaction.c suitable_migration_target() (6.9+): refused when the block's first page heads
    # a free block of order >= cc->order (cc->order > 0), else >= pageblock_order
    node = layout_node(pattern(["a."] * 3 + ["." * 16 + "a" * 496] + ["a."] * 4))
    block = 3 * PAGEBLOCK_NR_PAGES
    assert node.buddy[block] == 4 + 1  # a free order-4 block heads it
    c = compactor(node)
    cc = manual_run(c).cc
    for order, refused in [(-1, False), (3, True), (4, True), (5, False)]:
        cc.order = order
        assert bool(suitable_migration_target(c, cc, block)) is refused, order


def test_after_an_isolation_the_free_scanner_looks_a_stride_on_from_the_blocks_last_page() -> None:
    # mm/compaction.c isolate_freepages_block(): `blockpfn += isolated - 1`, then the loop's
    # `blockpfn += stride`. Free order-0 pages at every even pfn, stride 4: 0, 4, 8, ... are taken
    # (one page past the block, 1, 5, 9, ... would find only pages in use)
    node = layout_node(pattern(["a."] * 4 + [".a"] + ["a."] * 3))
    c = compactor(node)
    cc = manual_run(c).cc
    cc.nr_migratepages = 8
    block = 4 * PAGEBLOCK_NR_PAGES
    taken, stop = isolate_freepages_block(c, cc, block, block + PAGEBLOCK_NR_PAGES, 4)
    assert taken == 8
    # in isolation order from the list's head (the Python list's end: see free_scan.take_isolated)
    assert list(reversed(cc.freepages[0])) == [block + 4 * i for i in range(8)]
    assert stop == block + 4 * 7 + 1  # enough: it stops right after the last page taken
    check(node)


def test_isolated_free_pages_are_handed_out_oldest_first() -> None:
    # mm/compaction.c (6.9+): isolate_freepages_block() adds each free page at the tail of
    # cc->freepages[order] (list_add_tail) and compaction_alloc() takes list_first_entry(): FIFO.
    # Two isolations, 8 pages from the top pageblock, then 8 from the one below: 4 destinations
    # come from the first 8, lowest first (newest first would take the second block's last 4).
    node = layout_node(pattern(["k"] * 6 + ["a."] * 2))
    run = manual_run(compactor(node))
    c, cc = run.c, run.cc
    top, below = 7 * PAGEBLOCK_NR_PAGES, 6 * PAGEBLOCK_NR_PAGES
    cc.nr_migratepages = 8
    isolate_freepages_block(c, cc, top, top + PAGEBLOCK_NR_PAGES, 1)
    cc.nr_migratepages = 16
    isolate_freepages_block(c, cc, below, below + PAGEBLOCK_NR_PAGES, 1)
    assert cc.nr_freepages == 16
    starts, lengths, got = compaction_alloc_order0(c, cc, 4)
    assert got == 4 and list(lengths) == [1] * 4
    assert list(starts) == [top + 1, top + 3, top + 5, top + 7]
    # and what is left goes back from the head too: the first block's other 4, then the second's
    assert [p for p in reversed(cc.freepages[0])] == [top + 9, top + 11, top + 13, top + 15] + [
        below + 1 + 2 * i for i in range(8)]
