"""The free scanner's compiled sync isolation of one pageblock (`simcore.kernels.compact`).

mm/compaction.c `isolate_freepages_block()` with stride 1 and `__isolate_free_page()`'s watermark
check: free blocks from the cursor on are taken in pfn order; a block of n pages is taken while
free pages - min - pages taken so far > n; the run ends after the block that brings the pages taken
to what is wanted; nr_scanned counts up to and including a refused head.
"""

from __future__ import annotations

from array import array

import numpy as np
import pytest
from compaction_helpers import layout_node, pattern

from simcore.constants import PageKind
from simcore.jit import JIT, py
from simcore.kernels.compact import OUT_COUNTS, OUT_LEN, OUT_PFNS, isolate_free_run
from simcore.node import Node


def _node() -> Node:
    """Block 0: a free order-0 page at 0, an order-1 block at 2, an order-2 block at 4, allocations
    up to 64, then a free page at every 8th pfn from 71 on; block 1 allocated."""
    kinds = pattern(["." + "a" + ".." + "...." + "aaaaaaaa" * 7 + ("a" * 7 + ".") * 56, "a"])
    node = layout_node(kinds)
    # (layout_node frees page by page, which merges 2-3 and 4-7 into blocks)
    buddy = np.frombuffer(node.buddy, dtype=np.uint8)
    assert buddy[0] == 1 and buddy[2] == 2 and buddy[4] == 3
    return node


def _take(
    node: Node, start: int, want: int, room: int, fn: object = isolate_free_run
) -> tuple[tuple[int, int, int], array[int]]:
    zone = node.zones[0]
    fl = zone.fl
    out = array("q", bytes(8 * OUT_LEN))
    got = fn(  # type: ignore[operator]
        node.kind, node.buddy, node.pb_mt, fl.head, fl.count, fl.lru, fl.zstat, zone.zi,
        start, 512, want, room, out,
    )
    return got, out


def _groups(out: array[int]) -> dict[int, list[int]]:
    groups = {}
    at = OUT_PFNS
    for o in range(OUT_LEN - OUT_COUNTS):
        k = out[OUT_COUNTS + o]
        if k:
            groups[o] = list(out[at : at + k])
            at += k
    return groups


def test_blocks_are_taken_in_pfn_order_up_to_the_one_that_reaches_what_is_wanted() -> None:
    node = _node()
    free_before = node.zones[0].free_pages
    (total, stop, scanned), out = _take(node, 0, want=3, room=1000)
    # 1 page at 0, then 2 at 2 reach 3: the order-2 block at 4 stays
    assert (total, stop, scanned) == (3, 4, 4)
    assert _groups(out) == {0: [0], 1: [2]}
    assert node.buddy[4] == 3 and node.buddy[0] == 0 and node.buddy[2] == 0
    iso = PageKind.ISOLATED_FREE
    assert bytes(node.kind[:4]) == bytes([iso, PageKind.ANON, iso, iso])
    assert node.zones[0].free_pages == free_before - 3


def test_one_page_more_wanted_takes_the_next_block_too() -> None:
    node = _node()
    (total, stop, scanned), out = _take(node, 0, want=4, room=1000)
    assert (total, stop, scanned) == (7, 8, 8)
    assert _groups(out) == {0: [0], 1: [2], 2: [4]}


def test_the_watermark_refuses_a_block_as_large_as_the_room_left() -> None:
    # room 4: 1 taken (room left 3 > 2: the order-1 block is taken), then room left 1 <= 4: refused
    node = _node()
    (total, stop, scanned), _ = _take(node, 0, want=100, room=4)
    assert (total, stop, scanned) == (3, 4, 5)  # scanned up to and including the refused head
    # one more page of room: the order-2 block is refused still (room left 2 <= 4)...
    node = _node()
    assert _take(node, 0, want=100, room=5)[0] == (3, 4, 5)
    # ...and taken with room left 5 > 4
    node = _node()
    assert _take(node, 0, want=100, room=8)[0][0] == 7


def test_the_walk_starts_at_the_cursor_and_scans_to_the_block_end_when_short() -> None:
    node = _node()
    (total, stop, scanned), out = _take(node, 8, want=1000, room=10_000)
    singles = list(range(71, 512, 8))
    assert _groups(out) == {0: singles}
    assert (total, stop, scanned) == (len(singles), 512, 504)
    # the blocks before the cursor stay on their lists
    assert 4 in list(node.zones[0].free_area[2][int(node.pb_mt[0])])


@pytest.mark.skipif(not JIT, reason="compares the compiled kernel with its Python twin")
def test_the_compiled_kernel_equals_its_python_twin() -> None:
    for want, room in ((3, 1000), (100, 4), (1000, 10_000), (50, 60)):
        a, b = _node(), _node()
        got_a, out_a = _take(a, 0, want, room)
        got_b, out_b = _take(b, 0, want, room, fn=py(isolate_free_run))
        assert got_a == got_b and out_a == out_b
        assert bytes(a.kind) == bytes(b.kind) and bytes(a.buddy) == bytes(b.buddy)
        assert a.zones[0].fl.lru == b.zones[0].fl.lru and a.zones[0].fl.head == b.zones[0].fl.head
