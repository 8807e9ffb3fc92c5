"""The buddy allocator of one zone: free lists, split, merge, migratetype fallback.

Theory of operation
-------------------
Array layout. Page state lives in node-wide arrays indexed by pfn (see `simcore.node.Node`):

* ``kind``  (bytearray, one byte a page): ``PageKind``; 0 is a free page.
* ``buddy`` (bytearray): ``order + 1`` at the first pfn of each free block (``PageBuddy`` and
  ``buddy_order()``), 0 elsewhere.
* ``pb_mt`` (bytearray, one byte a pageblock): the pageblock's migratetype.

A zone keeps ``free_area[order][migratetype]``, an insertion-ordered ``dict`` used as the kernel's
doubly linked free list: O(1) add, delete and pop. ``popitem()`` takes the most recently added
block, which is where the kernel both adds (``__add_to_free_list``) and takes
(``get_page_from_free_area``) blocks: the head of the list.

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

from simcore.constants import (
    FALLBACKS,
    MAX_PAGE_ORDER,
    MIGRATE_PCPTYPES,
    MIGRATE_TYPES,
    MOVABLE_TABLE,
    NR_PAGE_ORDERS,
    PAGEBLOCK_NR_PAGES,
    PAGEBLOCK_ORDER,
    MigrateType,
)

_UNMOVABLE = int(MigrateType.UNMOVABLE)
_MOVABLE = int(MigrateType.MOVABLE)
_RECLAIMABLE = int(MigrateType.RECLAIMABLE)


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
    free_area: list[list[dict[int, None]]]
    free_area_by_type: list[list[dict[int, None]]]
    free_pages: int
    buddy: bytearray
    kind: bytearray
    pb_mt: bytearray

    def _init_free_area(self) -> None:
        self.free_area = [[{} for _ in range(MIGRATE_TYPES)] for _ in range(NR_PAGE_ORDERS)]
        # the same lists by type, then order: free_area_by_type[mt][order] is free_area[order][mt]
        self.free_area_by_type = [[row[mt] for row in self.free_area] for mt in range(MIGRATE_TYPES)]
        self.free_pages = 0

    # ----------------------------------------------------------------- queries
    def nr_free(self, order: int) -> int:
        """`free_area[order].nr_free`: free blocks of this order, all migratetypes."""
        return sum(len(lst) for lst in self.free_area[order])

    def free_count(self, order: int, mt: int) -> int:
        return len(self.free_area[order][mt])

    def free_list_empty(self, order: int, mt: int) -> bool:
        return not self.free_area[order][mt]

    # ------------------------------------------------------- list primitives
    def add_free_block(self, pfn: int, order: int) -> None:
        """Put a block on the list of its pageblock's type, without merging (`__add_to_free_list`)."""
        self.free_area[order][self.pb_mt[pfn >> PAGEBLOCK_ORDER]][pfn] = None
        self.buddy[pfn] = order + 1
        self.free_pages += 1 << order

    def del_free_block(self, pfn: int, order: int) -> None:
        """Take a block off its list (`del_page_from_free_list`); the caller owns its pages."""
        del self.free_area[order][self.pb_mt[pfn >> PAGEBLOCK_ORDER]][pfn]
        self.buddy[pfn] = 0
        self.free_pages -= 1 << order

    # ------------------------------------------------------------------ free
    def free_one_page(self, pfn: int, order: int) -> int:
        """Models `__free_one_page()`: merge with free buddies, then add. Returns the final head pfn.

        The pages' ``kind`` must already be FREE. A buddy of a different type at order >=
        pageblock_order merges only if both types are mergeable (not isolate / highatomic), and
        then takes the freed block's type, as Linux 6.10+ does ("match buddy type").
        """
        buddy = self.buddy
        pb_mt = self.pb_mt
        fa = self.free_area
        start = self.start_pfn
        end = self.end_pfn
        self.free_pages += 1 << order
        mt = pb_mt[pfn >> PAGEBLOCK_ORDER]
        while order < MAX_PAGE_ORDER:
            bud = pfn ^ (1 << order)
            if bud < start or bud >= end or buddy[bud] != order + 1:
                break
            if order >= PAGEBLOCK_ORDER:
                bmt = pb_mt[bud >> PAGEBLOCK_ORDER]
                if bmt != mt:
                    if mt >= MIGRATE_PCPTYPES or bmt >= MIGRATE_PCPTYPES:
                        break
                    del fa[order][bmt][bud]
                    self._set_pageblock_range(bud, order, mt)
                else:
                    del fa[order][mt][bud]
            else:
                del fa[order][mt][bud]
            buddy[bud] = 0
            pfn &= bud
            order += 1
        fa[order][mt][pfn] = None
        buddy[pfn] = order + 1
        return pfn

    # ----------------------------------------------------------------- alloc
    def _expand(self, pfn: int, low: int, high: int, mt: int) -> None:
        """Models `expand()`: split a block of order `high`, keeping the low half, down to `low`."""
        fa = self.free_area
        buddy = self.buddy
        while high > low:
            high -= 1
            half = pfn + (1 << high)
            fa[high][mt][half] = None
            buddy[half] = high + 1

    def rmqueue_smallest(self, order: int, mt: int) -> int:
        """Models `__rmqueue_smallest()`: the smallest block of the requested type, split down."""
        fa = self.free_area
        for current in range(order, NR_PAGE_ORDERS):
            lst = fa[current][mt]
            if lst:
                pfn = lst.popitem()[0]
                self.buddy[pfn] = 0
                if current > order:
                    self._expand(pfn, order, current, mt)
                self.free_pages -= 1 << order
                return pfn
        return -1

    def find_suitable_fallback(self, order: int, start_mt: int, claimable: bool) -> int:
        """Models `find_suitable_fallback()`: -1 none here, -2 too small to claim, else the type."""
        area = self.free_area[order]
        if claimable and not should_try_claim_block(order, start_mt):
            return -2
        for fmt in FALLBACKS[start_mt]:
            if area[fmt]:
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
        old_mt = self.pb_mt[block_start >> PAGEBLOCK_ORDER]
        if old_mt == new_mt:
            return 0
        fa = self.free_area
        buddy = self.buddy
        moved = 0
        pfn = block_start
        end = block_start + PAGEBLOCK_NR_PAGES
        while pfn < end:
            o1 = buddy[pfn]
            if o1:
                order = o1 - 1
                del fa[order][old_mt][pfn]
                fa[order][new_mt][pfn] = None
                moved += 1 << order
                pfn += 1 << order
            else:
                pfn += 1
        self.pb_mt[block_start >> PAGEBLOCK_ORDER] = new_mt
        return moved

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
            page = next(reversed(lst))  # the list head, as get_page_from_free_area()
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
