"""The buddy allocator of one zone: free lists, split, merge, migratetype fallback.

Theory of operation
-------------------
Array layout. Page state lives in node-wide arrays indexed by pfn (see `simcore.node.Node`):

* ``kind``  (bytearray, one byte a page): ``PageKind``; 0 is a free page.
* ``buddy`` (bytearray): ``order + 1`` at the first pfn of each free block (``PageBuddy`` and
  ``buddy_order()``), 0 elsewhere.
* ``pb_mt`` (bytearray, one byte a pageblock): the pageblock's migratetype.

Free lists are the kernel's: one circular doubly linked list per (zone, order, migratetype) threaded
through per-page ``next`` / ``prev`` arrays (`simcore.kernels.lists`, node-wide in `FreeLists`). A
block is added at the head (``__add_to_free_list``) and taken from the head
(``get_page_from_free_area``). The list operations are kernels (`simcore.kernels.buddy`): compiled
code calls them compiled, and the methods here call their Python twins (`simcore.jit.py`), which is
cheaper for one operation at a time. ``zone.free_area[order][mt]`` is a `FreeList` view with the
parts of a mapping's interface the Python code uses (length, truth, iteration oldest first,
``popitem`` of the head, ``del``).

Invariants (checked by `simcore.invariants`):

* every free block is naturally aligned to its order, inside the zone, on exactly one list;
* it is on the list of its pageblock's migratetype (the rule since Linux 6.10: free lists follow
  pageblock types, and a block of order >= pageblock_order has the same type in every pageblock);
* no two free buddies of the same order are both free and unmerged, unless the merge is barred
  (isolated / highatomic pageblocks at order >= pageblock_order, or a zone edge);
* ``nr_free_pages`` equals the pages on the lists.

What differs from Linux: no per-cpu page lists (every allocation goes to the buddy lists, as if
``vm.percpu_pagelist_high_fraction`` gave empty pcp lists); no guard pages, no page shuffling, no
"add to tail" heuristic for blocks likely to merge; no CMA. See docs/fidelity.md.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator

import numpy as np

from simcore.constants import (
    FALLBACKS,
    MAX_PAGE_ORDER,
    MIGRATE_TYPES,
    MOVABLE_TABLE,
    NR_PAGE_ORDERS,
    PAGEBLOCK_NR_PAGES,
    PAGEBLOCK_ORDER,
    MigrateType,
)
from simcore.jit import py
from simcore.kernels import buddy as kb
from simcore.kernels.lists import LISTS_PER_ZONE, list_add, list_del, list_items

_UNMOVABLE = int(MigrateType.UNMOVABLE)
_MOVABLE = int(MigrateType.MOVABLE)
_RECLAIMABLE = int(MigrateType.RECLAIMABLE)

# the Python twins of the kernels, for one operation at a time
_list_add = py(list_add)
_list_del = py(list_del)
_add_free_block = py(kb.add_free_block)
_del_free_block = py(kb.del_free_block)
_free_one_page = py(kb.free_one_page)
_expand = py(kb.expand)
_rmqueue_smallest = py(kb.rmqueue_smallest)
_move_freepages_block = py(kb.move_freepages_block)


class FreeLists:
    """The free lists of every zone of a node, and the zones' counters (`simcore.kernels.lists`).

    ``head`` / ``count``: per list; ``lru``: per pfn, the next and previous block (``lru[2 * pfn]``,
    ``lru[2 * pfn + 1]``: one cache line, as ``struct page.lru``; 8 bytes a page); ``zstat``: per zone,
    `simcore.kernels.buddy.NZSTAT` counters.
    """

    def __init__(self, nr_pages: int, nr_zones: int) -> None:
        self.head = array("i", [-1]) * (nr_zones * LISTS_PER_ZONE)
        self.count = array("q", bytes(8 * nr_zones * LISTS_PER_ZONE))
        self.lru = array("i", bytes(8 * nr_pages))
        self.zstat = array("q", bytes(8 * nr_zones * kb.NZSTAT))


class FreeList:
    """``free_area[order][mt]`` of one zone: a view of one list with a mapping's interface.

    Iteration goes from the oldest block (the tail) to the newest (the head), as a ``dict`` that
    blocks were added to in that order would; ``popitem()`` takes the head."""

    __slots__ = ("fl", "li")

    def __init__(self, fl: FreeLists, li: int) -> None:
        self.fl = fl
        self.li = li

    def __len__(self) -> int:
        return self.fl.count[self.li]

    def __bool__(self) -> bool:
        return self.fl.head[self.li] >= 0

    def head(self) -> int:
        """The block at the head (-1: empty): the next one `popitem()` takes."""
        return self.fl.head[self.li]

    def pfns(self) -> array[int]:
        """The list's blocks, oldest first."""
        fl = self.fl
        out = array("i", bytes(4 * fl.count[self.li]))
        py(list_items)(fl.head, fl.count, fl.lru, self.li, out)
        return out

    def __iter__(self) -> Iterator[int]:
        """Oldest first (from the tail), lazily: a search that stops early reads only what it saw.
        The list must not change while this runs (as a dict's iteration)."""
        fl = self.fl
        h = fl.head[self.li]
        if h < 0:
            return
        lru = fl.lru
        p = lru[2 * h + 1]
        while True:
            yield p
            if p == h:
                return
            p = lru[2 * p + 1]

    def __reversed__(self) -> Iterator[int]:
        """Newest first (from the head), lazily."""
        fl = self.fl
        h = fl.head[self.li]
        if h < 0:
            return
        lru = fl.lru
        p = h
        for _ in range(fl.count[self.li]):
            yield p
            p = lru[2 * p]

    def __contains__(self, pfn: object) -> bool:
        return pfn in self.pfns()

    def popitem(self) -> tuple[int, None]:
        fl = self.fl
        h = fl.head[self.li]
        if h < 0:
            raise KeyError("popitem(): free list is empty")
        _list_del(fl.head, fl.count, fl.lru, self.li, h)
        return h, None

    def pop(self, pfn: int) -> None:
        """Take `pfn` (which must be on this list) off it."""
        fl = self.fl
        _list_del(fl.head, fl.count, fl.lru, self.li, pfn)

    def __delitem__(self, pfn: int) -> None:
        self.pop(pfn)

    def __setitem__(self, pfn: int, value: None) -> None:
        fl = self.fl
        _list_add(fl.head, fl.count, fl.lru, self.li, pfn)


def should_try_claim_block(order: int, start_mt: int) -> bool:
    """Models `should_try_claim_block()` (formerly `can_steal_fallback()`), mm/page_alloc.c."""
    if order >= PAGEBLOCK_ORDER:
        return True
    return order >= PAGEBLOCK_ORDER // 2 or start_mt in (_RECLAIMABLE, _UNMOVABLE)


class FreeArea:
    """Mixin with the buddy operations of a zone. `Zone` supplies the attributes used here."""

    # Attributes provided by Zone (declared for the type checker).
    start_pfn: int
    end_pfn: int
    zi: int
    fl: FreeLists
    free_area: list[list[FreeList]]
    free_area_by_type: list[list[FreeList]]
    buddy: bytearray
    kind: bytearray
    pb_mt: bytearray

    def _init_free_area(self) -> None:
        base = self.zi * LISTS_PER_ZONE
        self.free_area = [
            [FreeList(self.fl, base + o * MIGRATE_TYPES + mt) for mt in range(MIGRATE_TYPES)]
            for o in range(NR_PAGE_ORDERS)
        ]
        # the same lists by type, then order: free_area_by_type[mt][order] is free_area[order][mt]
        self.free_area_by_type = [[row[mt] for row in self.free_area] for mt in range(MIGRATE_TYPES)]

    @property
    def free_pages(self) -> int:
        """`NR_FREE_PAGES` of the zone."""
        return self.fl.zstat[self.zi * kb.NZSTAT + kb.ZS_FREE]

    @free_pages.setter
    def free_pages(self, value: int) -> None:
        self.fl.zstat[self.zi * kb.NZSTAT + kb.ZS_FREE] = value

    @property
    def pgalloc(self) -> int:
        """``pgalloc_<zone>``: pages allocated from the zone."""
        return self.fl.zstat[self.zi * kb.NZSTAT + kb.ZS_PGALLOC]

    @pgalloc.setter
    def pgalloc(self, value: int) -> None:
        self.fl.zstat[self.zi * kb.NZSTAT + kb.ZS_PGALLOC] = value

    # ----------------------------------------------------------------- queries
    def nr_free(self, order: int) -> int:
        """`free_area[order].nr_free`: free blocks of this order, all migratetypes."""
        i = self.zi * LISTS_PER_ZONE + order * MIGRATE_TYPES
        return sum(self.fl.count[i : i + MIGRATE_TYPES])

    def free_count(self, order: int, mt: int) -> int:
        return self.fl.count[self.zi * LISTS_PER_ZONE + order * MIGRATE_TYPES + mt]

    def free_list_empty(self, order: int, mt: int) -> bool:
        return self.fl.head[self.zi * LISTS_PER_ZONE + order * MIGRATE_TYPES + mt] < 0

    # ------------------------------------------------------- list primitives
    def add_free_block(self, pfn: int, order: int) -> None:
        """Put a block on the list of its pageblock's type, without merging (`__add_to_free_list`)."""
        fl = self.fl
        _add_free_block(
            self.buddy, self.pb_mt, fl.head, fl.count, fl.lru, fl.zstat, self.zi, pfn, order
        )

    def del_free_block(self, pfn: int, order: int) -> None:
        """Take a block off its list (`del_page_from_free_list`); the caller owns its pages."""
        fl = self.fl
        _del_free_block(
            self.buddy, self.pb_mt, fl.head, fl.count, fl.lru, fl.zstat, self.zi, pfn, order
        )

    # ------------------------------------------------------------------ free
    def free_one_page(self, pfn: int, order: int) -> int:
        """Models `__free_one_page()`: merge with free buddies, then add. Returns the final head pfn.

        The pages' ``kind`` must already be FREE. A buddy of a different type at order >=
        pageblock_order merges only if both types are mergeable (not isolate / highatomic), and
        then takes the freed block's type, as Linux 6.10+ does ("match buddy type").
        """
        fl = self.fl
        return _free_one_page(
            self.buddy,
            self.pb_mt,
            fl.head,
            fl.count,
            fl.lru,
            fl.zstat,
            self.zi,
            self.start_pfn,
            self.end_pfn,
            pfn,
            order,
        )

    def free_pages_each(self, pages: np.ndarray, order: int) -> None:
        """`free_one_page(p, order)` for each of `pages` (an int64 array) in turn, compiled."""
        fl = self.fl
        kb.free_pages_each(
            self.buddy,
            self.pb_mt,
            fl.head,
            fl.count,
            fl.lru,
            fl.zstat,
            self.zi,
            self.start_pfn,
            self.end_pfn,
            pages,
            order,
        )

    # ----------------------------------------------------------------- alloc
    def _expand(self, pfn: int, low: int, high: int, mt: int) -> None:
        """Models `expand()`: split a block of order `high`, keeping the low half, down to `low`."""
        fl = self.fl
        _expand(self.buddy, fl.head, fl.count, fl.lru, self.zi, pfn, low, high, mt)

    def rmqueue_smallest(self, order: int, mt: int) -> int:
        """Models `__rmqueue_smallest()`: the smallest block of the requested type, split down."""
        fl = self.fl
        return _rmqueue_smallest(
            self.buddy, fl.head, fl.count, fl.lru, fl.zstat, self.zi, order, mt
        )

    def find_suitable_fallback(self, order: int, start_mt: int, claimable: bool) -> int:
        """Models `find_suitable_fallback()`: -1 none here, -2 too small to claim, else the type."""
        if claimable and not should_try_claim_block(order, start_mt):
            return -2
        base = self.zi * LISTS_PER_ZONE + order * MIGRATE_TYPES
        head = self.fl.head
        for fmt in FALLBACKS[start_mt]:
            if head[base + fmt] >= 0:
                return fmt
        return -1

    def block_page_counts(self, start_pfn: int) -> tuple[int, int]:
        """free and movable pages of a pageblock (`prep_move_freepages_block` counting)."""
        window = self.kind[start_pfn : start_pfn + PAGEBLOCK_NR_PAGES]
        free_pages = window.count(0)
        movable_pages = window.translate(MOVABLE_TABLE).count(1)
        return free_pages, movable_pages

    def move_freepages_block(self, block_start: int, new_mt: int) -> int:
        """Models `__move_freepages_block()` + `set_pageblock_migratetype()`: retype one pageblock.

        Every free block inside it moves to the new type's list. Returns pages moved.
        """
        fl = self.fl
        return _move_freepages_block(
            self.buddy, self.pb_mt, fl.head, fl.count, fl.lru, self.zi, block_start, new_mt
        )

    def _set_pageblock_range(self, pfn: int, order: int, mt: int) -> None:
        """Models `change_pageblock_range()`: set the type of every pageblock a block covers."""
        first = pfn >> PAGEBLOCK_ORDER
        n = max(1, 1 << (order - PAGEBLOCK_ORDER)) if order >= PAGEBLOCK_ORDER else 1
        for b in range(first, first + n):
            self.pb_mt[b] = mt

    def try_to_claim_block(
        self, pfn: int, current_order: int, order: int, start_mt: int, block_mt: int
    ) -> int:
        """Models `try_to_claim_block()`. `pfn` is on the `block_mt` list. Returns the page or -1."""
        if current_order >= PAGEBLOCK_ORDER:
            self.del_free_block(pfn, current_order)
            self._set_pageblock_range(pfn, current_order, start_mt)
            self._expand(pfn, order, current_order, start_mt)
            self.free_pages += (1 << current_order) - (1 << order)
            return pfn
        self.boost_watermark()
        block_start = pfn & ~(PAGEBLOCK_NR_PAGES - 1)
        # moving a whole block can fail at a zone boundary
        if block_start < self.start_pfn or block_start + PAGEBLOCK_NR_PAGES > self.end_pfn:
            return -1
        free_pages, movable_pages = self.block_page_counts(block_start)
        if start_mt == _MOVABLE:
            alike = movable_pages
        elif block_mt == _MOVABLE:
            alike = PAGEBLOCK_NR_PAGES - (free_pages + movable_pages)
        else:
            alike = 0
        if free_pages + alike >= PAGEBLOCK_NR_PAGES // 2:
            self.move_freepages_block(block_start, start_mt)
            return self.rmqueue_smallest(order, start_mt)
        return -1

    def boost_watermark(self) -> bool:  # provided by Zone
        raise AssertionError("Zone overrides boost_watermark")

    def rmqueue_claim(self, order: int, start_mt: int, nofragment: bool) -> tuple[int, int, int]:
        """Models `__rmqueue_claim()`: largest fallback block first. Returns (pfn, order, type)."""
        min_order = PAGEBLOCK_ORDER if (nofragment and order < PAGEBLOCK_ORDER) else order
        fa = self.free_area
        for current in range(MAX_PAGE_ORDER, min_order - 1, -1):
            fmt = self.find_suitable_fallback(current, start_mt, True)
            if fmt == -1:
                continue
            if fmt == -2:
                break
            lst = fa[current][fmt]
            page = lst.head()  # as get_page_from_free_area()
            got = self.try_to_claim_block(page, current, order, start_mt, fmt)
            if got >= 0:
                return got, current, fmt
        return -1, -1, -1

    def rmqueue_steal(self, order: int, start_mt: int) -> tuple[int, int, int]:
        """Models `__rmqueue_steal()`: the smallest fallback block, pageblock left as it is."""
        for current in range(order, NR_PAGE_ORDERS):
            fmt = self.find_suitable_fallback(current, start_mt, False)
            if fmt < 0:
                continue
            lst = self.free_area[current][fmt]
            pfn = lst.popitem()[0]
            self.buddy[pfn] = 0
            self._expand(pfn, order, current, fmt)
            self.free_pages -= 1 << order
            return pfn, current, fmt
        return -1, -1, -1
