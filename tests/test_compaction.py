"""Compaction on small hand-built zones: the scanners, conservation, unmovable pages, the hand count."""

from __future__ import annotations

from collections import Counter

import numpy as np
from compaction_helpers import compactor, free_huge_blocks, layout_node, manual_run, pattern

from simcore.compaction.control import CompactResult
from simcore.constants import PAGEBLOCK_NR_PAGES, PageKind
from simcore.invariants import check

# 8 pageblocks: the bottom half sparse (a movable page every 4th), the top half every other page
SCATTERED = ["a..."] * 4 + ["a."] * 4


def test_scanners_move_toward_each_other_and_stop_when_they_meet() -> None:
    node = layout_node(pattern(SCATTERED))
    c = compactor(node)
    run = manual_run(c)
    cc = run.cc
    positions = [(cc.migrate_pfn, cc.free_pfn)]
    while run.step() == CompactResult.CONTINUE:
        positions.append((cc.migrate_pfn, cc.free_pfn))
        check(node)
        # every step leaves the migration scanner below the free scanner's pageblock
        assert cc.migrate_pfn >> 9 <= cc.free_pfn >> 9
    positions.append((cc.migrate_pfn, cc.free_pfn))
    migrate = [m for m, _ in positions]
    # the free scanner walks pageblocks downward (within a block it takes pages upward, as the kernel)
    free_blocks = [f >> 9 for _, f in positions]
    assert migrate == sorted(migrate)
    assert free_blocks == sorted(free_blocks, reverse=True)
    assert len(set(free_blocks)) > 2 and len(set(migrate)) > 2
    assert run.result == CompactResult.COMPLETE
    assert cc.free_pfn >> 9 <= cc.migrate_pfn >> 9
    check(node)


def test_pages_and_owners_are_conserved() -> None:
    node = layout_node(pattern(SCATTERED))
    before_kinds = Counter(node.kind)
    before_streams = {s.sid: (len(s.pfns), s.nr_pages) for s in node.streams}
    c = compactor(node)
    run = manual_run(c)
    run.run()
    assert run.cc.nr_migrated > 0
    assert Counter(node.kind) == before_kinds
    assert {s.sid: (len(s.pfns), s.nr_pages) for s in node.streams} == before_streams
    assert PageKind.ISOLATED_FREE not in node.kind
    assert node.nr_isolated == [0, 0]
    # every allocation head is where its stream says
    for s in node.streams:
        for pfn in s.pfns:
            assert node.alloc_stream[pfn] == s.sid and node.kind[pfn] == s.kind
    check(node)


def test_manual_compaction_yields_the_hand_counted_order9_blocks() -> None:
    # 512 + 1024 movable pages = 3 pageblocks' worth; 2560 free pages = 5 pageblocks' worth. Blocks
    # 0-3 empty into the top blocks (7, then 6 and 5 from its start). Block 4's first 32 pages go to
    # block 5; the rest of block 4 (224 pages, one finish_pageblock batch) moves the migration
    # scanner to 2560, and the free scanner may only look above pageblock_end_pfn(2560) = 3072,
    # which is used up: -ENOMEM, the scanners have met (compact_zone(), isolate_freepages()).
    node = layout_node(pattern(SCATTERED))
    assert free_huge_blocks(node) == 0
    movable = int(np.count_nonzero(np.frombuffer(node.kind, dtype=np.uint8) == PageKind.ANON))
    free = node.free_pages
    assert movable == 1536 and free == 2560
    run = manual_run(compactor(node))
    assert run.run() == CompactResult.COMPLETE
    assert free_huge_blocks(node) == 4
    assert node.vm_events["pgmigrate_fail"] == 224
    used = np.count_nonzero(np.frombuffer(node.kind, dtype=np.uint8).reshape(8, -1), axis=1)
    assert used.tolist() == [0, 0, 0, 0, 224, 288, 512, 512]
    check(node)


def test_a_block_with_one_unmovable_page_is_never_fully_freed() -> None:
    kinds = pattern(["a..."] + ["a."] * 3)
    kinds[100] = PageKind.KERNEL  # one unmovable page in block 0
    node = layout_node(kinds)
    run = manual_run(compactor(node))
    run.run()
    assert node.kind[100] == PageKind.KERNEL
    buddy = np.frombuffer(node.buddy, dtype=np.uint8)
    # no free block of pageblock order or more starts in (or spans) block 0
    assert buddy[0] < 10
    assert (
        np.count_nonzero(np.frombuffer(node.kind, dtype=np.uint8)[:PAGEBLOCK_NR_PAGES] == PageKind.ANON) == 0
    )
    assert free_huge_blocks(node) < node.free_pages // PAGEBLOCK_NR_PAGES
    check(node)


def test_unmovable_pages_stay_and_pagecache_moves_with_its_owner() -> None:
    node = layout_node(pattern(["pk.."] * 2 + ["p."] * 2))
    kernel_before = np.flatnonzero(np.frombuffer(node.kind, dtype=np.uint8) == PageKind.KERNEL)
    run = manual_run(compactor(node))
    run.run()
    kernel_after = np.flatnonzero(np.frombuffer(node.kind, dtype=np.uint8) == PageKind.KERNEL)
    assert np.array_equal(kernel_before, kernel_after)
    assert node.vm_events["pgmigrate_success"] == run.cc.nr_migrated > 0
    check(node)


def test_skip_bit_set_on_a_block_yielding_nothing_and_ignored_by_manual_compaction() -> None:
    node = layout_node(pattern(["k."] + ["a."] * 3))
    run = manual_run(compactor(node))
    run.run()
    assert node.pb_skip[0] == 1  # only unmovable pages: nothing isolated
    # a block whose skip bit is set is still compacted by a manual run
    node2 = layout_node(pattern(["a..."] + ["a."] * 3))
    node2.pb_skip[0] = 1
    run2 = manual_run(compactor(node2))
    run2.run()
    assert np.count_nonzero(np.frombuffer(node2.kind, dtype=np.uint8)[:PAGEBLOCK_NR_PAGES]) == 0
    check(node2)


def test_migration_failure_rate_makes_pgmigrate_fail_real() -> None:
    node = layout_node(pattern(SCATTERED))
    before = bytes(node.kind)
    run = manual_run(compactor(node, fail_rate=1.0))
    run.run()
    assert node.vm_events["pgmigrate_success"] == 0
    assert node.vm_events["pgmigrate_fail"] > 0
    assert bytes(node.kind) == before
    check(node)


def test_free_pages_kept_by_order_in_modern_mode_and_split_in_2_6_35() -> None:
    for old in (False, True):
        node = layout_node(pattern(["a..."] * 2 + ["a......."] * 2))
        c = compactor(node, old=old)
        run = manual_run(c)
        held_orders: set[int] = set()
        while run.step() == CompactResult.CONTINUE:
            held_orders |= {o for o, lst in enumerate(run.cc.freepages) if lst}
            check(node)
        if old:
            assert held_orders == {0}
            assert node.vm_events["compact_pages_moved"] > 0
            assert node.vm_events["pgmigrate_success"] == 0
        else:
            assert max(held_orders) > 0
            assert node.vm_events["pgmigrate_success"] > 0


def test_counters_match_the_run() -> None:
    node = layout_node(pattern(SCATTERED))
    run = manual_run(compactor(node))
    run.run()
    ev = node.vm_events
    assert ev["compact_migrate_scanned"] == run.cc.total_migrate_scanned > 0
    assert ev["compact_free_scanned"] == run.cc.total_free_scanned > 0
    # both sides count isolated pages: each migrated page was isolated once on each side
    assert ev["compact_isolated"] >= 2 * ev["pgmigrate_success"]
    names = Counter(e.name for e in node.events)
    assert names["mm_compaction_begin"] == names["mm_compaction_end"] == 1
    assert names["mm_compaction_migratepages"] > 0


def test_async_direct_compaction_gives_up_a_chunk_with_an_unmovable_page() -> None:
    from simcore.compaction.context import SKIP_UNMOVABLE
    from simcore.compaction.control import CompactControl, MigrateMode, Trigger
    from simcore.compaction.run import CompactionRun

    # free runs of 16 at every 32nd pfn up top, where the async free scanner's stride of 32 finds them
    kinds = pattern(["a..."] * 2 + ["." * 16 + "a" * 16] * 6)
    kinds[10] = PageKind.KERNEL  # block 0 can never become a free order-9 block
    node = layout_node(kinds)
    before = bytes(node.kind[:PAGEBLOCK_NR_PAGES])
    c = compactor(node)
    cc = CompactControl(
        zone=node.zones[0],
        order=9,
        mode=MigrateMode.ASYNC,
        trigger=Trigger.DIRECT,
        direct_compaction=True,
        whole_zone=True,
    )
    run = CompactionRun(c, cc)
    cc.migrate_pfn, cc.free_pfn = 0, node.zones[0].last_pageblock_start()
    run.started = True
    result = run.run()
    assert bytes(node.kind[:PAGEBLOCK_NR_PAGES]) == before  # nothing moved out of block 0
    assert c.skip_reason[0] == SKIP_UNMOVABLE and node.pb_skip[0] == 1
    assert np.count_nonzero(np.frombuffer(node.kind, dtype=np.uint8)[512:1024]) == 0  # block 1 emptied
    assert result == CompactResult.SUCCESS
    check(node)
