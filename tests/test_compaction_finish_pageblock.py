"""One pageblock as one 32-page batch, then the rest of it (issue 14, item 1; Linux 6.18).

* mm/compaction.c `compact_zone()`: an iteration that starts in the pageblock of
  ``last_migrated_pfn`` sets ``cc->finish_pageblock``; ``last_migrated_pfn`` starts at 0 (so
  pageblock 0 is finished at once) and, for a run with an order, is forgotten at the check_drain
  label once the scanner has left the order-aligned block it came from. A failed batch in async or
  sync-light mode, skip hints honoured, rescans the rest of its pageblock (``goto rescan``).
* mm/compaction.c `isolate_migratepages_block()`: with ``finish_pageblock`` the COMPACT_CLUSTER_MAX
  cap does not apply; the first page isolated in a block entered at its start sets the block's skip
  bit (`test_and_set_skip`, not when the run ignores hints); a block scanned to its end with
  nothing isolated, or finished, moves the cached migrate pfn, and gets its skip bit only if it was
  entered at its start and nothing was isolated.

Real trace (6.18, a full movable block, kernel-mm-facts.md): ``range=(0x101c00 ~ 0x101c20)
nr_scanned=32 nr_taken=32``, then ``range=(0x101c20 ~ 0x101e00) nr_scanned=480 nr_taken=480``.
"""

from __future__ import annotations

from compaction_helpers import compactor, layout_node, manual_run, pattern

from simcore.compaction.control import CompactControl, CompactResult, MigrateMode, Trigger
from simcore.compaction.events import MmCompactionIsolateMigratepages, MmCompactionMigratepages
from simcore.compaction.run import CompactionRun
from simcore.constants import PAGEBLOCK_NR_PAGES
from simcore.invariants import check
from simcore.node import Node

#: block 0 unmovable, block 1 full of anonymous pages, the rest half free in order-0 pieces (no free
#: block of any order above 0, so no run with an order finishes early)
LAYOUT = ["k", "a"] + ["a."] * 6


def _batches(node: Node, since: int = 0) -> list[tuple[int, int, int, int]]:
    return [
        (e.start_pfn, e.end_pfn, e.nr_scanned, e.nr_taken)
        for e in node.events[since:]
        if isinstance(e, MmCompactionIsolateMigratepages)
    ]


def _run(
    order: int,
    mode: MigrateMode = MigrateMode.SYNC_LIGHT,
    fail_rate: float = 0.0,
    ignore_skip_hint: bool = False,
    migrate_pfn: int = 0,
    steps: int = 4,
    blocks: list[str] = LAYOUT,
) -> tuple[Node, CompactionRun]:
    """A direct-compaction-like run from `migrate_pfn`, `steps` turns of its loop."""
    node = layout_node(pattern(blocks))
    c = compactor(node, fail_rate=fail_rate)
    zone = node.zones[0]
    cc = CompactControl(
        zone=zone,
        order=order,
        mode=mode,
        trigger=Trigger.DIRECT,
        direct_compaction=True,
        ignore_skip_hint=ignore_skip_hint,
    )
    run = CompactionRun(c, cc)
    cc.migrate_pfn, cc.free_pfn = migrate_pfn, zone.last_pageblock_start()
    run.started = True
    for _ in range(steps):
        if run.step() != CompactResult.CONTINUE:
            break
    run.advance(0)  # (ends the burst: held frees go back)
    check(node)
    return node, run


def test_manual_compaction_takes_32_pages_then_the_rest_of_each_pageblock() -> None:
    node = layout_node(pattern(LAYOUT))
    run = manual_run(compactor(node))
    while run.step() == CompactResult.CONTINUE:
        pass
    batches = _batches(node)
    # block 0 (only kernel pages) is finished at once; block 1 as 32 pages, then 480
    assert batches[0] == (0, 512, 512, 0)
    assert batches[1] == (512, 544, 32, 32)
    assert batches[2] == (544, 1024, 480, 480)
    migrated = [e.nr_migrated for e in node.events if isinstance(e, MmCompactionMigratepages)]
    assert migrated[:2] == [32, 480]
    check(node)


def test_pageblock_zero_is_finished_at_once_by_the_zero_sentinel() -> None:
    # last_migrated_pfn starts at 0, which is also pageblock 0's start: its first batch takes it all
    node = layout_node(pattern(["a"] + ["a."] * 7))
    run = manual_run(compactor(node))
    run.step()
    assert _batches(node) == [(0, 512, 512, 512)]


def test_a_run_of_pageblock_order_finishes_the_pageblock() -> None:
    node, _ = _run(order=9, steps=3)
    assert _batches(node)[-2:] == [(512, 544, 32, 32), (544, 1024, 480, 480)]


def test_a_run_of_a_small_order_keeps_32_page_batches() -> None:
    # check_drain: once the scanner leaves the order-3 chunk it migrated from, last_migrated_pfn
    # is forgotten, so the next turn does not finish the pageblock
    node, _ = _run(order=3, steps=4)
    assert _batches(node)[1:4] == [(512, 544, 32, 32), (544, 576, 32, 32), (576, 608, 32, 32)]


def test_a_failed_batch_rescans_the_rest_of_its_pageblock_in_sync_light() -> None:
    node, _ = _run(order=3, fail_rate=1.0, steps=2)
    assert _batches(node)[1:3] == [(512, 544, 32, 32), (544, 1024, 480, 480)]


def test_a_failed_batch_is_not_rescanned_in_sync_mode_or_ignoring_skip_hints() -> None:
    for kw in ({"mode": MigrateMode.SYNC}, {"ignore_skip_hint": True}):
        node, _ = _run(order=3, fail_rate=1.0, steps=3, **kw)  # type: ignore[arg-type]
        assert _batches(node)[1:3] == [(512, 544, 32, 32), (544, 576, 32, 32)], kw


def test_the_first_isolation_in_a_block_sets_its_skip_bit() -> None:
    node, _ = _run(order=9, steps=1)
    assert node.pb_skip[1] == 0  # (the first turn passes block 0, then stops at block 1's start)
    node, _ = _run(order=9, steps=2)
    assert _batches(node)[-1] == (512, 544, 32, 32)
    assert node.pb_skip[1] == 1


def test_no_skip_bit_from_isolation_when_hints_are_ignored_or_the_block_is_entered_midway() -> None:
    node, _ = _run(order=9, steps=3, ignore_skip_hint=True)
    assert _batches(node)[1:3] == [(512, 544, 32, 32), (544, 1024, 480, 480)]
    assert node.pb_skip[1] == 0
    node, _ = _run(order=9, steps=1, migrate_pfn=PAGEBLOCK_NR_PAGES + 64)
    assert _batches(node) == [(576, 608, 32, 32)]
    assert node.pb_skip[1] == 0


def test_a_block_with_nothing_to_isolate_gets_its_skip_bit_only_if_entered_at_its_start() -> None:
    blocks = ["a", "s"] + ["a."] * 6
    node, _ = _run(order=9, steps=3, blocks=blocks, migrate_pfn=PAGEBLOCK_NR_PAGES)
    assert node.pb_skip[1] == 1
    node, _ = _run(order=9, steps=1, blocks=blocks, migrate_pfn=PAGEBLOCK_NR_PAGES + 64)
    assert _batches(node)[0] == (576, 1024, 448, 0)
    assert node.pb_skip[1] == 0
    # either way the cached migrate pfn moves past the block
    assert node.zones[0].compact_cached_migrate_pfn[1] >= 2 * PAGEBLOCK_NR_PAGES
