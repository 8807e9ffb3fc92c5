"""compaction_suitable: compact_gap, the fragmentation-index veto; __compact_finished's order of checks."""

from __future__ import annotations

from compaction_helpers import compactor, layout_node, pattern
from zone_helpers import build_node, take_all_free

from simcore.compaction.control import CompactControl, CompactResult, MigrateMode, Trigger
from simcore.compaction.events import MmCompactionSuitable
from simcore.compaction.suitable import (
    compact_finished,
    compact_gap,
    compaction_suitable,
    fragmentation_score_wmark,
    fragmentation_score_zone,
    zone_fragindex,
)
from simcore.constants import PageKind


def zone_with_free_blocks(order: int, count: int):  # type: ignore[no-untyped-def]
    """A full 8 MiB zone, then `count` free blocks of `order` (spread out)."""
    node = build_node([("Normal", 4096)])
    sid = take_all_free(node, PageKind.ANON)
    zone = node.zones[0]
    st = node.streams[sid]
    # re-record as order-0 pages, then free `count` aligned blocks of `order`, 2^(order+1) apart
    from zone_helpers import split_to_order0

    split_to_order0(node, sid)
    for i in range(count):
        base = i * (2 << order)
        for pfn in range(base, base + (1 << order)):
            node.free_alloc(pfn)
    assert st.nr_pages == 4096 - count * (1 << order)
    return node, zone


def test_compact_gap() -> None:
    assert [compact_gap(o) for o in (0, 3, 9)] == [2, 16, 1024]


def test_fragindex_veto_for_costly_orders() -> None:
    # five free order-8 blocks: index = 1000 - (1000 + 1280*1000/512) / 5 = 300 -> lack of memory
    node, zone = zone_with_free_blocks(8, 5)
    assert zone_fragindex(zone, 9) == 300
    assert compaction_suitable(node, zone, 9, 2, 500, False) == CompactResult.SKIPPED
    last = [e for e in node.events if isinstance(e, MmCompactionSuitable)][-1]
    assert last.ret == CompactResult.NOT_SUITABLE_ZONE
    # a lower threshold lets it compact
    assert compaction_suitable(node, zone, 9, 2, 299, False) == CompactResult.CONTINUE
    # non-costly orders ignore the index
    assert compaction_suitable(node, zone, 3, 2, 1000, False) in (
        CompactResult.CONTINUE,
        CompactResult.SUCCESS,
    )


def test_scattered_free_pages_are_fragmentation_not_lack_of_memory() -> None:
    # 1280 free single pages: index close to 1000 -> compaction is worth it
    node, zone = zone_with_free_blocks(0, 1280)
    assert zone_fragindex(zone, 9) > 900
    assert compaction_suitable(node, zone, 9, 2, 500, False) == CompactResult.CONTINUE


def test_watermark_plus_gap_must_hold() -> None:
    # 600 free pages in single pages: below low + 1024 for order 9, enough for order 2 (min + 8)
    node, zone = zone_with_free_blocks(0, 600)
    assert compaction_suitable(node, zone, 9, 2, 500, False) == CompactResult.SKIPPED
    assert compaction_suitable(node, zone, 2, 2, 500, False) == CompactResult.CONTINUE


def test_already_suitable_reports_success() -> None:
    node, zone = zone_with_free_blocks(9, 3)
    assert compaction_suitable(node, zone, 9, 2, 500, False) == CompactResult.SUCCESS


def test_finish_checks_in_kernel_order() -> None:
    node = layout_node(pattern(["a."] * 4))
    c = compactor(node)
    zone = node.zones[0]
    cc = CompactControl(zone=zone, order=2, mode=MigrateMode.SYNC_LIGHT, trigger=Trigger.DIRECT)
    cc.migrate_pfn, cc.free_pfn = 100, 1536
    # mid-pageblock: continue even though no order-2 block is free
    assert compact_finished(c, cc) == CompactResult.CONTINUE
    cc.migrate_pfn = 512
    # aligned, no suitable page: no_suitable_page, reported to the loop as continue
    assert compact_finished(c, cc) == CompactResult.CONTINUE
    assert node.events[-1].ret == CompactResult.NO_SUITABLE_PAGE  # type: ignore[attr-defined]
    cc.free_pfn = 600
    cc.whole_zone = False
    assert compact_finished(c, cc) == CompactResult.PARTIAL_SKIPPED
    cc.whole_zone = True
    assert compact_finished(c, cc) == CompactResult.COMPLETE
    manual = CompactControl(zone=zone, order=-1, mode=MigrateMode.SYNC, trigger=Trigger.MANUAL)
    manual.migrate_pfn, manual.free_pfn = 512, 1536
    assert compact_finished(c, manual) == CompactResult.CONTINUE


def test_fragmentation_score_and_proactive_marks() -> None:
    assert (fragmentation_score_wmark(20, True), fragmentation_score_wmark(20, False)) == (80, 90)
    assert (fragmentation_score_wmark(100, True), fragmentation_score_wmark(100, False)) == (5, 15)
    _node, zone = zone_with_free_blocks(0, 1280)
    assert fragmentation_score_zone(zone) == 100
    _node, zone = zone_with_free_blocks(9, 3)
    assert fragmentation_score_zone(zone) == 0


def test_success_is_not_traced_in_modern_mode_but_the_other_answers_are() -> None:
    # mm/compaction.c (6.4+): the "allocation already succeeds" answer comes from the watermark
    # check before compaction_suitable(), whose trace_mm_compaction_suitable() sees only continue,
    # skipped and not_suitable_zone
    def traced(node) -> list[int]:  # type: ignore[no-untyped-def]
        return [e.ret for e in node.events if isinstance(e, MmCompactionSuitable)]

    node, zone = zone_with_free_blocks(3, 100)  # free order-3 blocks: an order-2 request succeeds
    assert compaction_suitable(node, zone, 2, 2, 500, False) == CompactResult.SUCCESS
    assert traced(node) == []
    node, zone = zone_with_free_blocks(0, 1280)  # scattered pages: an order-9 request continues
    assert compaction_suitable(node, zone, 9, 2, 500, False) == CompactResult.CONTINUE
    assert traced(node) == [CompactResult.CONTINUE]
    node, zone = zone_with_free_blocks(3, 100)
    assert compaction_suitable(node, zone, 2, 2, 500, True) == CompactResult.SUCCESS  # 2.6.35 traced it
    assert traced(node) == [CompactResult.SUCCESS]
