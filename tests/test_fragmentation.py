"""Fragmentation index and unusable free space index (mm/vmstat.c), hand-worked, and their printing."""

from __future__ import annotations

import re

import pytest
from zone_helpers import build_node, split_to_order0, take_all_free

from simcore.constants import PageKind
from simcore.fragmentation import (
    ContigPageInfo,
    fill_contig_page_info,
    format_index,
    fragmentation_index,
    unusable_free_index,
)
from simcore.procfs import extfrag_index, unusable_index


def nr_free(**orders: int) -> list[int]:
    """Free block counts per order 0..10 from keywords o0=..., o3=..."""
    return [orders.get(f"o{o}", 0) for o in range(11)]


def test_fill_contig_page_info_counts_suitable_blocks_in_units_of_the_request() -> None:
    # 4 order-0 blocks, 1 order-2 block, 1 order-4 block: 4 + 4 + 16 = 24 pages in 6 blocks
    info = fill_contig_page_info(nr_free(o0=4, o2=1, o4=1), 2)
    # suitable for order 2: the order-2 block (1) and the order-4 block counted as 4 order-2 blocks
    assert info == ContigPageInfo(free_pages=24, free_blocks_total=6, free_blocks_suitable=5)


@pytest.mark.parametrize(
    ("free", "order", "index", "printed"),
    [
        # no free memory at all: 0 (failure would be for lack of memory)
        (nr_free(), 3, 0, " 0.000"),
        # a suitable block exists: -1000, printed -1.000
        (nr_free(o0=5, o3=1), 3, -1000, "-1.000"),
        (nr_free(o10=1), 9, -1000, "-1.000"),
        # 8 order-0 pages, order 2: 1000 - (1000 + 8 * 1000 / 4) / 8 = 1000 - 3000 / 8 = 625
        (nr_free(o0=8), 2, 625, " 0.625"),
        # 1 + 2 + 4 = 7 pages in 3 blocks, order 4: 1000 - (1000 + 7000 / 16) / 3 = 1000 - 1437 / 3 = 521
        (nr_free(o0=1, o1=1, o2=1), 4, 521, " 0.521"),
        # 2 order-2 blocks, order 3: 1000 - (1000 + 8000 / 8) / 2 = 0: enough memory? no, too little
        (nr_free(o2=2), 3, 0, " 0.000"),
        # 512 order-0 pages, order 9: 1000 - (1000 + 512000 / 512) / 512 = 1000 - 3 = 997 (fragmented)
        (nr_free(o0=512), 9, 997, " 0.997"),
    ],
)
def test_fragmentation_index(free: list[int], order: int, index: int, printed: str) -> None:
    assert fragmentation_index(fill_contig_page_info(free, order), order) == index
    assert format_index(index, 2) == printed


@pytest.mark.parametrize(
    ("free", "order", "index", "printed"),
    [
        (nr_free(), 0, 1000, "1.000"),  # nothing free: all of it (none) is unusable
        # 4 order-0 + 1 order-2 = 8 pages. order 0: all usable
        (nr_free(o0=4, o2=1), 0, 0, "0.000"),
        # order 2: (8 - 1 * 4) * 1000 / 8 = 500
        (nr_free(o0=4, o2=1), 2, 500, "0.500"),
        # order 3: nothing suitable
        (nr_free(o0=4, o2=1), 3, 1000, "1.000"),
        # 3 order-0 + 1 order-1 = 5 pages, order 1: (5 - 2) * 1000 / 5 = 600
        (nr_free(o0=3, o1=1), 1, 600, "0.600"),
        # 7 pages (1+2+4), order 1: (7 - 6) * 1000 / 7 = 142 (integer division)
        (nr_free(o0=1, o1=1, o2=1), 1, 142, "0.142"),
    ],
)
def test_unusable_free_index(free: list[int], order: int, index: int, printed: str) -> None:
    assert unusable_free_index(fill_contig_page_info(free, order), order) == index
    assert format_index(index, 1) == printed


def test_format_index_follows_c_integer_division() -> None:
    assert format_index(1000, 2) == " 1.000"
    assert format_index(999, 1) == "0.999"
    assert format_index(-1000, 1) == "-1.000"
    assert format_index(0, 2) == " 0.000"


def test_debugfs_tables_for_a_fragmented_zone() -> None:
    # every other page free: 1024 order-0 blocks and nothing larger
    node = build_node([("Normal", 2048)], min_free_kbytes=128)
    sid = take_all_free(node, PageKind.ANON)
    split_to_order0(node, sid)
    for pfn in range(0, 2048, 2):
        node.free_alloc(pfn)
    ext = extfrag_index(node)
    # order 0: a suitable block -> -1.000. order k >= 1: 1000 - (1000 + 1024 * 1000 / 2^k) / 1024:
    # k=1: 1000 - 513000/1024 = 1000 - 500 = 500; k=2: 1000 - 257000/1024 = 750; k=3: 875; k=4: 937;
    # k=5: 968; k=6: 984; k=7: 992; k=8: 996; k=9: 998; k=10: 1000 - 2000/1024 = 999
    assert ext == ("Node 0, zone   Normal -1.000  0.500  0.750  0.875  0.937  0.968  0.984  0.992  0.996 "
                   " 0.998  0.999 \n")
    unusable = unusable_index(node)
    assert unusable == "Node 0, zone   Normal 0.000 " + "1.000 " * 10 + "\n"


def test_debugfs_tables_of_a_fresh_zone_and_their_line_format() -> None:
    node = build_node([("DMA32", 1024), ("Normal", 2048)])
    ext_line = re.compile(r"Node 0, zone +(DMA32|Normal) (?:[ -]\d\.\d{3} ){11}")
    unusable_line = re.compile(r"Node 0, zone +(DMA32|Normal) (?:\d\.\d{3} ){11}")
    ext = extfrag_index(node).splitlines()
    unusable = unusable_index(node).splitlines()
    assert [ext_line.fullmatch(line) is not None for line in ext] == [True, True]
    assert [unusable_line.fullmatch(line) is not None for line in unusable] == [True, True]
    # all memory in order-10 blocks: every order has a suitable block and nothing is unusable
    assert ext[1].endswith("-1.000 " * 11)
    assert unusable[1].endswith("0.000 " * 11)
