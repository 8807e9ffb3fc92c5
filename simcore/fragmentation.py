"""External fragmentation indices (mm/vmstat.c): fragmentation index and unusable free space index."""

from __future__ import annotations

from typing import NamedTuple

from simcore.constants import NR_PAGE_ORDERS


class ContigPageInfo(NamedTuple):
    """`struct contig_page_info`."""

    free_pages: int
    free_blocks_total: int
    free_blocks_suitable: int


def fill_contig_page_info(nr_free: list[int], suitable_order: int) -> ContigPageInfo:
    """Models `fill_contig_page_info()` from the free block count per order."""
    free_pages = total = suitable = 0
    for order in range(NR_PAGE_ORDERS):
        blocks = nr_free[order]
        total += blocks
        free_pages += blocks << order
        if order >= suitable_order:
            suitable += blocks << (order - suitable_order)
    return ContigPageInfo(free_pages, total, suitable)


def fragmentation_index(info: ContigPageInfo, order: int) -> int:
    """Models `__fragmentation_index()`: 0..1000, or -1000 when a suitable block exists.

    Towards 0 an allocation would fail for lack of memory, towards 1000 for fragmentation.
    """
    requested = 1 << order
    if not info.free_blocks_total:
        return 0
    if info.free_blocks_suitable:
        return -1000
    return 1000 - (1000 + info.free_pages * 1000 // requested) // info.free_blocks_total


def unusable_free_index(info: ContigPageInfo, order: int) -> int:
    """Models `unusable_free_index()`: thousandths of free memory unusable for this order."""
    if not info.free_pages:
        return 1000
    return (info.free_pages - (info.free_blocks_suitable << order)) * 1000 // info.free_pages


def format_index(index: int, width: int) -> str:
    """The kernel's "%2d.%03d" / "%d.%03d" printing of an index, with C's truncating division."""
    whole = int(index / 1000)
    frac = abs(index) - abs(whole) * 1000
    return f"{whole:{width}d}.{frac:03d}"
