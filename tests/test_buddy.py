"""The buddy allocator's rules, each pinned by a hand-worked case on a tiny hand-prepared zone.

Most zones here are 2048 pages (four pageblocks: pfn 0..511 is pageblock 0, and so on). A case is
prepared by taking every free block (`take_all_free`), re-recording allocations as order-0
pages, and freeing exactly the pages the case needs, so that the free lists hold what the case
says and nothing else.
"""

from __future__ import annotations

import pytest
from zone_helpers import build_node, split_to_order0, take_all_free

from simcore.buddy import should_try_claim_block
from simcore.constants import MAX_PAGE_ORDER, PAGEBLOCK_NR_PAGES, MigrateType, PageKind
from simcore.events import MmPageAllocExtfrag
from simcore.invariants import check
from simcore.node import Node

U, M, R = MigrateType.UNMOVABLE, MigrateType.MOVABLE, MigrateType.RECLAIMABLE


def extfrag_events(node: Node) -> list[MmPageAllocExtfrag]:
    return [e for e in node.events if isinstance(e, MmPageAllocExtfrag)]


# --------------------------------------------------------------------------- merge and split
def test_boot_hands_out_max_order_blocks() -> None:
    node = build_node([("Normal", 2048)])
    z = node.zones[0]
    assert z.nr_free_per_order() == [0] * 10 + [2]
    assert z.free_pages == 2048
    check(node)


def test_order0_allocation_splits_an_order10_block_into_one_block_per_order() -> None:
    node = build_node([("Normal", 2048)])
    z = node.zones[0]
    pfn = z.rmqueue_smallest(0, M)
    # expand(): the lower half is kept at each step, so the page is the block's first pfn and
    # the upper halves pfn+512, pfn+256, ..., pfn+1 are left on the lists
    assert pfn % 1024 == 0
    assert z.nr_free_per_order() == [1] * 10 + [1]
    assert [pfn + (1 << o) in z.free_area[o][M] for o in range(10)] == [True] * 10
    assert z.free_pages == 2047
    node.commit_alloc(pfn, 0, PageKind.ANON, node.stream(0, "t", PageKind.ANON).sid)
    check(node)
    # freeing it merges all the way back up: buddy pfn = pfn ^ (1 << order) at each order
    node.free_alloc(pfn)
    assert z.nr_free_per_order() == [0] * 10 + [2]
    check(node)


def test_free_merges_only_with_a_free_buddy_of_the_same_order() -> None:
    node = build_node([("Normal", 2048)])
    z = node.zones[0]
    sid = take_all_free(node, PageKind.ANON)
    split_to_order0(node, sid)
    check(node)
    node.free_alloc(5)  # buddy of 5 at order 0 is 4: allocated -> no merge
    assert list(z.free_area[0][M]) == [5]
    node.free_alloc(6)  # 6 ^ 1 = 7: allocated -> stays alone
    assert z.nr_free_per_order()[:2] == [2, 0]
    node.free_alloc(4)  # 4 ^ 1 = 5 free -> order 1 at 4; 4 ^ 2 = 6 is order 0 only -> stop
    assert list(z.free_area[1][M]) == [4]
    assert list(z.free_area[0][M]) == [6]
    node.free_alloc(7)  # 7+6 -> order 1 at 6; buddy 4 at order 1 free -> order 2 at 4
    assert z.nr_free_per_order()[:3] == [0, 0, 1]
    assert list(z.free_area[2][M]) == [4]
    check(node)


def test_no_merge_across_a_zone_boundary() -> None:
    # DMA [0, 1536), Normal [1536, 4096): 1536 is order-9 aligned only, its buddy 1024 is in DMA
    node = build_node([("DMA", 1536), ("Normal", 2560)])
    dma, normal = node.zones
    assert dma.nr_free_per_order()[9:] == [1, 1]
    assert list(normal.free_area[9][M]) == [1536]
    take_all_free(node, PageKind.ANON)
    node.free_alloc(1024)
    node.free_alloc(1536)
    assert list(dma.free_area[9][M]) == [1024]
    assert list(normal.free_area[9][M]) == [1536]
    check(node)


def reorder(node: Node, sid: int, heads: list[tuple[int, int]]) -> None:
    """Re-record stream `sid`'s allocations as the given (head pfn, order) list (same pages)."""
    st = node.streams[sid]
    for head in list(st.pfns):
        st.remove(head, 1 << (node.alloc_order[head] - 1))
        node.alloc_order[head] = 0
    for head, order in heads:
        node.alloc_order[head] = order + 1
        st.add(head, 1 << order)


def test_order9_buddies_of_different_movable_types_merge_and_take_the_freed_type() -> None:
    node = build_node([("Normal", 2048)])
    z = node.zones[0]
    sid = take_all_free(node, PageKind.ANON)
    reorder(node, sid, [(0, 9), (512, 9), (1024, 10)])
    node.pb_mt[1] = U
    check(node)
    node.free_alloc(512)  # UNMOVABLE pageblock 1: order 9 on the Unmovable list
    assert list(z.free_area[9][U]) == [512]
    node.free_alloc(0)  # MOVABLE pageblock 0: merges with 512 into order 10, all MOVABLE (6.10+)
    assert list(z.free_area[10][M]) == [0]
    assert z.nr_free(9) == 0
    assert (node.pb_mt[0], node.pb_mt[1]) == (M, M)
    check(node)


def test_isolate_pageblock_does_not_merge_at_pageblock_order() -> None:
    node = build_node([("Normal", 2048)])
    z = node.zones[0]
    sid = take_all_free(node, PageKind.ANON)
    reorder(node, sid, [(0, 9), (512, 9), (1024, 10)])
    node.pb_mt[1] = MigrateType.ISOLATE
    node.free_alloc(512)
    node.free_alloc(0)
    assert list(z.free_area[9][MigrateType.ISOLATE]) == [512]
    assert list(z.free_area[9][M]) == [0]
    assert z.nr_free(10) == 0
    check(node)


# ------------------------------------------------------------------ claim versus steal rules
@pytest.mark.parametrize(
    ("order", "start_mt", "expected"),
    [
        (0, U, True),
        (0, R, True),
        (0, M, False),
        (3, M, False),
        (4, M, True),
        (8, M, True),
        (9, M, True),
        (10, M, True),
        (3, U, True),
        (9, R, True),
    ],
)
def test_should_try_claim_block(order: int, start_mt: int, expected: bool) -> None:
    # order >= pageblock_order, or >= pageblock_order / 2 = 4, or an unmovable/reclaimable request
    assert should_try_claim_block(order, start_mt) is expected


def rekind(node: Node, pfn: int, kind: int, sid: int) -> None:
    """Give the order-0 allocation at `pfn` a new kind and owner (free it, take it straight back)."""
    z = node.zone_of(pfn)
    node.free_alloc(pfn)
    order = node.buddy[pfn] - 1
    assert order == 0, "the page merged: prepare cases on a full zone"
    z.del_free_block(pfn, 0)
    node.commit_alloc(pfn, 0, kind, sid)


def prepare_claim_case(block_mt: int, fill_kind: int, special_kind: int, n_special: int) -> Node:
    """Pageblock 0, of type `block_mt`, holds one free order-6 block at pfn 0 (64 pages), then
    `n_special` pages of `special_kind`; every other page of the zone is a `fill_kind` page. No
    other page is free, so a request of another type must fall back to pageblock 0."""
    node = build_node([("Normal", 2048)], min_free_kbytes=128)
    sid = take_all_free(node, fill_kind)
    split_to_order0(node, sid)
    special = node.stream(0, "special", special_kind).sid
    for pfn in range(64, 64 + n_special):
        rekind(node, pfn, special_kind, special)
    node.pb_mt[0] = block_mt
    for pfn in range(64):
        node.free_alloc(pfn)
    check(node)
    return node


@pytest.mark.parametrize(
    ("start_mt", "order", "block_mt", "fill_kind", "special_kind"),
    [
        # an UNMOVABLE request in a MOVABLE block: alike = 512 - free - movable (the kernel pages)
        (U, 0, M, PageKind.ANON, PageKind.KERNEL),
        # a RECLAIMABLE request in a MOVABLE block: the same count
        (R, 0, M, PageKind.ANON, PageKind.SLAB_UNMOVABLE),
        # a MOVABLE request (order 4 can claim) in an UNMOVABLE block: alike = movable pages
        (M, 4, U, PageKind.KERNEL, PageKind.ANON),
    ],
)
@pytest.mark.parametrize(("n_alike", "claimed"), [(191, False), (192, True)])
def test_fallback_claims_the_pageblock_at_256_free_plus_alike_pages(
    start_mt: int, order: int, block_mt: int, fill_kind: int, special_kind: int, n_alike: int, claimed: bool
) -> None:
    # 64 free + 191 alike = 255 < 256: steal one block; the pageblock keeps its type.
    # 64 free + 192 alike = 256 >= pageblock_nr_pages / 2: claim: retype it, move its free pages.
    node = prepare_claim_case(block_mt, fill_kind, special_kind, n_alike)
    z = node.zones[0]
    assert z.nr_free_per_order() == [0] * 6 + [1] + [0] * 4
    kind = {U: PageKind.SLAB_UNMOVABLE, R: PageKind.SLAB_RECLAIMABLE, M: PageKind.ANON}[start_mt]
    sid = node.stream(0, "request", kind).sid
    pfn = node.alloc_pages(order, kind, sid)
    assert pfn == 0
    (ev,) = extfrag_events(node)
    assert ev.fields() == {
        "pfn": 0,
        "alloc_order": order,
        "fallback_order": 6,
        "alloc_migratetype": start_mt,
        "fallback_migratetype": block_mt,
        "fragmenting": 1,
        "change_ownership": int(claimed),
    }
    remaining = start_mt if claimed else block_mt
    assert node.pb_mt[0] == remaining
    # the rest of the order-6 block is split onto the lists of the pageblock's (new) type
    assert [z.free_count(o, remaining) for o in range(order, 6)] == [1] * (6 - order)
    assert z.free_pages == 64 - (1 << order)
    # a fragmenting fallback boosts the watermark by one pageblock (the zone has 4 pageblocks)
    assert z.watermark_boost == PAGEBLOCK_NR_PAGES
    check(node)


def test_movable_order0_request_steals_without_claiming_a_small_block() -> None:
    # eligibility is by the order of the fallback block found: an order-3 UNMOVABLE block cannot be
    # claimed for a MOVABLE request even when the whole pageblock is free-or-movable
    node = build_node([("Normal", 2048)], min_free_kbytes=128)
    z = node.zones[0]
    sid = take_all_free(node, PageKind.ANON)
    split_to_order0(node, sid)
    node.pb_mt[0] = U
    for pfn in range(8):
        node.free_alloc(pfn)
    assert list(z.free_area[3][U]) == [0]
    assert z.rmqueue_claim(0, M, False) == (-1, -1, -1)
    assert node.pb_mt[0] == U
    pfn, fallback_order, fallback_mt = z.rmqueue_steal(0, M)
    assert (pfn, fallback_order, fallback_mt) == (0, 3, U)
    assert node.pb_mt[0] == U


def test_whole_block_claim_at_pageblock_order_and_above() -> None:
    # a fresh zone: two free order-10 MOVABLE blocks. An unmovable request claims a whole one
    # (ALLOC_NOFRAGMENT still allows fallbacks of order >= pageblock_order)
    node = build_node([("Normal", 2048)])
    z = node.zones[0]
    sid = node.stream(0, "slab", PageKind.SLAB_UNMOVABLE).sid
    pfn = node.alloc_pages(0, PageKind.SLAB_UNMOVABLE, sid)
    assert pfn in (0, 1024)
    block = pfn >> 9
    assert (node.pb_mt[block], node.pb_mt[block + 1]) == (U, U)
    other = 2 if block == 0 else 0
    assert (node.pb_mt[other], node.pb_mt[other + 1]) == (M, M)
    assert [z.free_count(o, U) for o in range(MAX_PAGE_ORDER + 1)] == [1] * 10 + [0]
    assert z.free_count(MAX_PAGE_ORDER, M) == 1
    (ev,) = extfrag_events(node)
    assert (ev.fallback_order, ev.fragmenting, ev.change_ownership) == (10, 0, 1)
    # not fragmenting: no watermark boost
    assert z.watermark_boost == 0
    check(node)


def test_second_unmovable_request_uses_its_own_type_first() -> None:
    node = build_node([("Normal", 2048)])
    sid = node.stream(0, "slab", PageKind.SLAB_UNMOVABLE).sid
    node.alloc_pages(0, PageKind.SLAB_UNMOVABLE, sid)
    node.alloc_pages(0, PageKind.SLAB_UNMOVABLE, sid)
    assert len(extfrag_events(node)) == 1  # __rmqueue_smallest found an Unmovable page
    check(node)


def test_highatomic_has_no_fallback() -> None:
    node = build_node([("Normal", 2048)])
    z = node.zones[0]
    assert z.rmqueue_claim(0, MigrateType.HIGHATOMIC, False) == (-1, -1, -1)
    assert z.rmqueue_steal(0, MigrateType.HIGHATOMIC) == (-1, -1, -1)


def test_watermark_boost_not_applied_below_four_pageblocks() -> None:
    node = build_node([("Normal", 1536)], min_free_kbytes=128)
    z = node.zones[0]
    assert z.boost_watermark() is False
    assert z.watermark_boost == 0


def test_whole_block_claim_of_an_order9_block_retypes_one_pageblock() -> None:
    node = build_node([("Normal", 2048)], min_free_kbytes=128)
    z = node.zones[0]
    sid = take_all_free(node, PageKind.ANON)
    reorder(node, sid, [(0, 9), (512, 9), (1024, 10)])
    node.free_alloc(512)
    assert list(z.free_area[9][M]) == [512]
    slab = node.stream(0, "slab", PageKind.SLAB_UNMOVABLE).sid
    assert node.alloc_pages(0, PageKind.SLAB_UNMOVABLE, slab) == 512
    assert list(node.pb_mt) == [M, U, M, M]
    assert [z.free_count(o, U) for o in range(MAX_PAGE_ORDER + 1)] == [1] * 9 + [0, 0]
    (ev,) = extfrag_events(node)
    assert (ev.fallback_order, ev.fragmenting, ev.change_ownership) == (9, 0, 1)
    check(node)
