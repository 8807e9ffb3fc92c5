"""The buddy allocator's list operations on one zone, compiled (see `simcore.buddy` for the model).

Every kernel takes the zone as ``(buddy, pb_mt, head, count, lru, zstat, zi)``: the node's
per-page buddy bytes (``order + 1`` at a free block's head) and per-pageblock migratetypes, the free
lists (`simcore.kernels.lists`), the per-zone counters ``zstat`` (``zstat[zi * NZSTAT + ZS_FREE]`` is
the zone's ``nr_free_pages``) and the zone's number. Merging also needs the zone's pfn range.
"""

from __future__ import annotations

from simcore.constants import (
    MAX_PAGE_ORDER,
    MIGRATE_PCPTYPES,
    NR_PAGE_ORDERS,
    PAGEBLOCK_NR_PAGES,
    PAGEBLOCK_ORDER,
)
from simcore.jit import Buf, inline_kernel, kernel
from simcore.kernels.lists import list_add, list_del, list_index, list_pop

#: per-zone counters in ``zstat``: free pages (`NR_FREE_PAGES`), pages allocated (`pgalloc_<zone>`)
ZS_FREE = 0
ZS_PGALLOC = 1
NZSTAT = 2


@kernel
def add_free_block(
    buddy: Buf,
    pb_mt: Buf,
    head: Buf,
    count: Buf,
    lru: Buf,
    zstat: Buf,
    zi: int,
    pfn: int,
    order: int,
) -> None:
    """`__add_to_free_list` + `set_buddy_order`: on the list of its pageblock's type, no merging."""
    mt = pb_mt[pfn >> PAGEBLOCK_ORDER]
    list_add(head, count, lru, list_index(zi, order, mt), pfn)
    buddy[pfn] = order + 1
    zstat[zi * NZSTAT + ZS_FREE] += 1 << order


@kernel
def del_free_block(
    buddy: Buf,
    pb_mt: Buf,
    head: Buf,
    count: Buf,
    lru: Buf,
    zstat: Buf,
    zi: int,
    pfn: int,
    order: int,
) -> None:
    """`del_page_from_free_list`: the caller owns the pages afterwards."""
    mt = pb_mt[pfn >> PAGEBLOCK_ORDER]
    list_del(head, count, lru, list_index(zi, order, mt), pfn)
    buddy[pfn] = 0
    zstat[zi * NZSTAT + ZS_FREE] -= 1 << order


@inline_kernel
def free_one_page(
    buddy: Buf,
    pb_mt: Buf,
    head: Buf,
    count: Buf,
    lru: Buf,
    zstat: Buf,
    zi: int,
    start: int,
    end: int,
    pfn: int,
    order: int,
) -> int:
    """`__free_one_page()`: merge with free buddies, then add at the head. Returns the final head.

    A buddy of another type merges at order >= pageblock_order only when both types are mergeable
    (below MIGRATE_PCPTYPES), and then takes the freed block's type (`change_pageblock_range`)."""
    zstat[zi * NZSTAT + ZS_FREE] += 1 << order
    mt = pb_mt[pfn >> PAGEBLOCK_ORDER]
    while order < MAX_PAGE_ORDER:
        bud = pfn ^ (1 << order)
        if bud < start or bud >= end or buddy[bud] != order + 1:
            break
        bmt = pb_mt[bud >> PAGEBLOCK_ORDER]
        if bmt != mt:
            # only at order >= pageblock_order can a buddy lie in a pageblock of another type
            if mt >= MIGRATE_PCPTYPES or bmt >= MIGRATE_PCPTYPES:
                break
            list_del(head, count, lru, list_index(zi, order, bmt), bud)
            first = bud >> PAGEBLOCK_ORDER
            for b in range(first, first + (1 << (order - PAGEBLOCK_ORDER))):
                pb_mt[b] = mt
        else:
            list_del(head, count, lru, list_index(zi, order, mt), bud)
        buddy[bud] = 0
        pfn &= bud
        order += 1
    list_add(head, count, lru, list_index(zi, order, mt), pfn)
    buddy[pfn] = order + 1
    return pfn


@inline_kernel
def expand(
    buddy: Buf, head: Buf, count: Buf, lru: Buf, zi: int, pfn: int, low: int, high: int, mt: int
) -> None:
    """`expand()`: split a block of order `high` at `pfn`, keeping the low half, down to `low`."""
    while high > low:
        high -= 1
        half = pfn + (1 << high)
        list_add(head, count, lru, list_index(zi, high, mt), half)
        buddy[half] = high + 1


@inline_kernel
def rmqueue_smallest(
    buddy: Buf, head: Buf, count: Buf, lru: Buf, zstat: Buf, zi: int, order: int, mt: int
) -> int:
    """`__rmqueue_smallest()`: the smallest block of type `mt`, split down; its pfn or -1."""
    for current in range(order, NR_PAGE_ORDERS):
        li = list_index(zi, current, mt)
        if head[li] >= 0:
            pfn = list_pop(head, count, lru, li)
            buddy[pfn] = 0
            if current > order:
                expand(buddy, head, count, lru, zi, pfn, order, current, mt)
            zstat[zi * NZSTAT + ZS_FREE] -= 1 << order
            return pfn
    return -1


@kernel
def move_freepages_block(
    buddy: Buf, pb_mt: Buf, head: Buf, count: Buf, lru: Buf, zi: int, block_start: int, new_mt: int
) -> int:
    """`__move_freepages_block()` + `set_pageblock_migratetype()`: every free block of the pageblock
    goes to the head of the new type's list, in pfn order. Returns the pages moved."""
    old_mt = pb_mt[block_start >> PAGEBLOCK_ORDER]
    if old_mt == new_mt:
        return 0
    moved = 0
    pfn = block_start
    end = block_start + PAGEBLOCK_NR_PAGES
    while pfn < end:
        o1 = buddy[pfn]
        if o1:
            order = o1 - 1
            list_del(head, count, lru, list_index(zi, order, old_mt), pfn)
            list_add(head, count, lru, list_index(zi, order, new_mt), pfn)
            moved += 1 << order
            pfn += 1 << order
        else:
            pfn += 1
    pb_mt[block_start >> PAGEBLOCK_ORDER] = new_mt
    return moved


@kernel
def free_pages_each(
    buddy: Buf,
    pb_mt: Buf,
    head: Buf,
    count: Buf,
    lru: Buf,
    zstat: Buf,
    zi: int,
    start: int,
    end: int,
    pages: Buf,
    order: int,
) -> None:
    """`free_one_page(p, order)` for each of `pages` in turn."""
    for i in range(len(pages)):
        free_one_page(buddy, pb_mt, head, count, lru, zstat, zi, start, end, pages[i], order)
