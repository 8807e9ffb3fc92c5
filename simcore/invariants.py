"""The invariant checker: the buddy allocator's and the page arrays' consistency, for tests and debug.

`check(node)` raises `InvariantError` naming the first broken rule. It is O(pages) and meant for tests
(hypothesis runs it after every operation) and `zonescope run --check`.
"""

from __future__ import annotations

import numpy as np

from simcore.constants import ALLOC_KINDS, MAX_PAGE_ORDER, MIGRATE_PCPTYPES, PAGEBLOCK_ORDER, PageKind
from simcore.jit import py
from simcore.kernels.lists import list_check as _list_check
from simcore.node import Node

list_check = py(_list_check)


class InvariantError(AssertionError):
    pass


def check(node: Node) -> None:
    kind = np.frombuffer(node.kind, dtype=np.uint8)
    buddy = node.buddy
    allocated = 0
    for z in node.zones:
        seen = np.zeros(z.spanned, dtype=np.int32)
        list_pages = 0
        for order in range(MAX_PAGE_ORDER + 1):
            for mt, lst in enumerate(z.free_area[order]):
                if z.free_area_by_type[mt][order] is not lst:
                    raise InvariantError(f"{z.name}: free_area_by_type[{mt}][{order}] is not the same list")
                fl = z.fl
                bad = list_check(fl.head, fl.count, fl.lru, lst.li)
                if bad >= 0:
                    raise InvariantError(f"{z.name}: free list order {order} type {mt} broken at pfn {bad}")
                for pfn in lst:
                    n = 1 << order
                    if pfn & (n - 1):
                        raise InvariantError(f"{z.name}: free block {pfn} order {order} not aligned")
                    if not (z.start_pfn <= pfn and pfn + n <= z.end_pfn):
                        raise InvariantError(f"{z.name}: free block {pfn} order {order} outside the zone")
                    if buddy[pfn] != order + 1:
                        raise InvariantError(
                            f"{z.name}: free block {pfn} order {order}: buddy byte {buddy[pfn]}"
                        )
                    blocks = range(pfn >> PAGEBLOCK_ORDER, ((pfn + n - 1) >> PAGEBLOCK_ORDER) + 1)
                    if any(node.pb_mt[b] != mt for b in blocks):
                        raise InvariantError(
                            f"{z.name}: free block {pfn} order {order} on list {mt}, "
                            f"pageblock type {node.pb_mt[pfn >> PAGEBLOCK_ORDER]}"
                        )
                    rel = pfn - z.start_pfn
                    seen[rel : rel + n] += 1
                    if np.any(kind[pfn : pfn + n] != PageKind.FREE):
                        raise InvariantError(f"{z.name}: free block {pfn} order {order} holds non-free pages")
                    list_pages += n
                    # no unmerged free buddy of the same order
                    if order < MAX_PAGE_ORDER:
                        bud = pfn ^ n
                        if z.start_pfn <= bud < z.end_pfn and buddy[bud] == order + 1:
                            bmt = node.pb_mt[bud >> PAGEBLOCK_ORDER]
                            barred = (
                                order >= PAGEBLOCK_ORDER
                                and bmt != mt
                                and (mt >= MIGRATE_PCPTYPES or bmt >= MIGRATE_PCPTYPES)
                            )
                            if not barred:
                                raise InvariantError(
                                    f"{z.name}: free buddies {pfn} and {bud} of order {order} unmerged"
                                )
        if np.any(seen > 1):
            raise InvariantError(f"{z.name}: a page is in two free blocks")
        if list_pages != z.free_pages:
            raise InvariantError(f"{z.name}: nr_free_pages {z.free_pages} != {list_pages} pages on the lists")
        zk = kind[z.start_pfn : z.end_pfn]
        free_marked = int(np.count_nonzero(zk == PageKind.FREE))
        if free_marked != list_pages:
            raise InvariantError(f"{z.name}: {free_marked} pages marked free but {list_pages} on the lists")
        heads_free = np.frombuffer(buddy, dtype=np.uint8)[z.start_pfn : z.end_pfn]
        if int(np.count_nonzero(heads_free)) != sum(len(lst) for row in z.free_area for lst in row):
            raise InvariantError(f"{z.name}: buddy bytes disagree with the free lists")
        allocated += int(np.count_nonzero(np.isin(zk, np.array(ALLOC_KINDS, dtype=np.uint8))))
    # allocations: heads, sizes, streams, counters
    heads = node.allocation_heads()
    orders = np.frombuffer(node.alloc_order, dtype=np.uint8)[heads].astype(np.int64) - 1
    if int((1 << orders).sum()) != allocated:
        raise InvariantError(
            f"allocation heads cover {int((1 << orders).sum())} pages, {allocated} allocated"
        )
    for pfn, order in zip(heads.tolist(), orders.tolist(), strict=True):
        k = kind[pfn]
        if np.any(kind[pfn : pfn + (1 << order)] != k):
            raise InvariantError(f"allocation {pfn} order {order} has mixed page kinds")
        if pfn & ((1 << order) - 1):
            raise InvariantError(f"allocation {pfn} order {order} not aligned")
        st = node.streams[node.alloc_stream[pfn]]
        if st.position(pfn) is None:
            raise InvariantError(f"allocation {pfn} missing from its stream {st.name}")
    if sum(len(s.pfns) for s in node.streams) != len(heads):
        raise InvariantError("streams hold allocations that are not in the page arrays")
    if sum(s.nr_pages for s in node.streams) != allocated:
        raise InvariantError("stream page counts disagree with the page arrays")
    for k in ALLOC_KINDS:
        n = int(np.count_nonzero(kind == k))
        if n != node.nr_kind_pages[k]:
            raise InvariantError(f"counter for {PageKind(k).name} is {node.nr_kind_pages[k]}, pages say {n}")
    # conservation: free + allocated + isolated + holes = spanned
    not_buddy = np.array([PageKind.ISOLATED_FREE, PageKind.HOLE], dtype=np.uint8)
    other = int(np.count_nonzero(np.isin(kind, not_buddy)))
    if node.free_pages + allocated + other != node.nr_pages:
        raise InvariantError(
            f"pages not conserved: free {node.free_pages} + allocated {allocated} + "
            f"other {other} != spanned {node.nr_pages}"
        )
