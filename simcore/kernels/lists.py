"""The buddy free lists as intrusive circular doubly linked lists (``struct list_head``).

One list per (zone, order, migratetype), numbered ``li = (zone * NR_PAGE_ORDERS + order) *
MIGRATE_TYPES + mt``. ``head[li]`` is the pfn at the head (-1: empty), ``count[li]`` its length,
and ``lru`` links the blocks: ``lru[2 * pfn]`` is the next block (``lru.next``), ``lru[2 * pfn +
1]`` the previous (``lru.prev``), side by side in one cache line as in ``struct page``; meaningful at
free block heads only. From the head, next goes to older blocks and the head's prev is the oldest
(the tail).

``list_add`` is the kernel's ``list_add`` (`__add_to_free_list` without ``tail``): the block becomes
the head. Taking the head (`get_page_from_free_area`) therefore takes the most recently added block.
"""

from __future__ import annotations

from simcore.constants import MIGRATE_TYPES, NR_PAGE_ORDERS
from simcore.jit import Buf, inline_kernel, kernel

LISTS_PER_ZONE = NR_PAGE_ORDERS * MIGRATE_TYPES


@inline_kernel
def list_index(zi: int, order: int, mt: int) -> int:
    return (zi * NR_PAGE_ORDERS + order) * MIGRATE_TYPES + mt


@inline_kernel
def list_add(head: Buf, count: Buf, lru: Buf, li: int, pfn: int) -> None:
    """Put `pfn` at the head of list `li`."""
    h = head[li]
    if h < 0:
        lru[2 * pfn] = pfn
        lru[2 * pfn + 1] = pfn
    else:
        t = lru[2 * h + 1]
        lru[2 * pfn] = h
        lru[2 * pfn + 1] = t
        lru[2 * h + 1] = pfn
        lru[2 * t] = pfn
    head[li] = pfn
    count[li] += 1


@inline_kernel
def list_del(head: Buf, count: Buf, lru: Buf, li: int, pfn: int) -> None:
    """Take `pfn` (on list `li`) off it."""
    n = lru[2 * pfn]
    if n == pfn:
        head[li] = -1
    else:
        r = lru[2 * pfn + 1]
        lru[2 * r] = n
        lru[2 * n + 1] = r
        if head[li] == pfn:
            head[li] = n
    count[li] -= 1


@inline_kernel
def list_pop(head: Buf, count: Buf, lru: Buf, li: int) -> int:
    """Take the head of list `li` off it and return it (-1 if the list is empty)."""
    h: int = head[li]
    if h >= 0:
        list_del(head, count, lru, li, h)
    return h


@kernel
def list_items(head: Buf, count: Buf, lru: Buf, li: int, out: Buf) -> int:
    """Write the list's pfns into `out`, oldest (tail) first, newest (head) last; return how many."""
    h = head[li]
    n = 0
    if h >= 0:
        p = lru[2 * h + 1]
        while True:
            out[n] = p
            n += 1
            if p == h:
                break
            p = lru[2 * p + 1]
    return n


@kernel
def list_check(head: Buf, count: Buf, lru: Buf, li: int) -> int:
    """-1 if list `li` is well linked (the prev of every block's next is the block, ``count`` blocks
    round the circle back to the head), else the first block where it is not."""
    h: int = head[li]
    n = count[li]
    if h < 0:
        return -1 if n == 0 else 0
    p = h
    for _ in range(n):
        q = lru[2 * p]
        if q < 0 or q >= len(lru) // 2 or lru[2 * q + 1] != p:
            return p
        p = q
    return -1 if p == h else h
