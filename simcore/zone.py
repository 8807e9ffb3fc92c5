"""A memory zone: a pfn range with its buddy free lists, pageblock bits, watermarks and counters."""

from __future__ import annotations

from simcore.buddy import FreeArea, FreeLists
from simcore.constants import (
    MIGRATE_TYPES,
    NR_PAGE_ORDERS,
    PAGEBLOCK_NR_PAGES,
    PAGEBLOCK_ORDER,
    ZONE_NAMES,
    MigrateType,
    ZoneType,
)
from simcore.kernels.lists import LISTS_PER_ZONE

WMARK_MIN, WMARK_LOW, WMARK_HIGH, WMARK_PROMO = 0, 1, 2, 3


class Zone(FreeArea):
    """`struct zone`: [start_pfn, end_pfn) of one node, pageblock-aligned.

    The page arrays (``kind``, ``buddy``) and the pageblock arrays (``pb_mt``, ``pb_skip``) are the
    node's, shared by its zones and indexed by absolute pfn / pageblock number; so are the free lists
    and the counters ``free_pages`` and ``pgalloc`` (`FreeLists`, entry ``zi``).
    """

    def __init__(
        self,
        ztype: ZoneType,
        start_pfn: int,
        end_pfn: int,
        kind: bytearray,
        buddy: bytearray,
        pb_mt: bytearray,
        pb_skip: bytearray,
        fl: FreeLists,
        zi: int,
    ) -> None:
        self.ztype = ztype
        self.idx = int(ztype)
        self.name = ZONE_NAMES[ztype]
        self.start_pfn = start_pfn
        self.end_pfn = end_pfn
        self.kind = kind
        self.buddy = buddy
        self.pb_mt = pb_mt
        self.pb_skip = pb_skip
        self.fl = fl
        self.zi = zi  # the zone's number in its node (its free lists and counters in `fl`)
        self._init_free_area()
        self.spanned = end_pfn - start_pfn
        self.present = self.spanned
        self.managed = self.spanned
        # _watermark[] and watermark_boost, set by simcore.watermarks
        self.watermark = [0, 0, 0, 0]
        self.watermark_boost = 0
        self.watermark_boost_factor = 15000
        self.lowmem_reserve: list[int] = [0] * (max(ZONE_NAMES) + 1)
        self.boosted = False  # ZONE_BOOSTED_WATERMARK
        # no highatomic reserves are made (see docs/fidelity.md), so this stays 0
        self.nr_free_highatomic = 0
        # compaction state (struct zone fields); driven by simcore.compaction
        self.compact_considered = 0
        self.compact_defer_shift = 0
        self.compact_order_failed = 0
        self.compact_cached_migrate_pfn = [start_pfn, start_pfn]
        self.compact_cached_free_pfn = self.last_pageblock_start()

    # -------------------------------------------------------------- geometry
    @property
    def first_block(self) -> int:
        return self.start_pfn >> PAGEBLOCK_ORDER

    @property
    def nr_blocks(self) -> int:
        return self.spanned >> PAGEBLOCK_ORDER

    def last_pageblock_start(self) -> int:
        return (self.end_pfn - 1) & ~(PAGEBLOCK_NR_PAGES - 1)

    def contains(self, pfn: int) -> bool:
        return self.start_pfn <= pfn < self.end_pfn

    # ------------------------------------------------------------ watermarks
    def wmark(self, i: int) -> int:
        """`wmark_pages()`: the mark plus any boost."""
        return self.watermark[i] + self.watermark_boost

    @property
    def wmark_min(self) -> int:
        return self.wmark(WMARK_MIN)

    @property
    def wmark_low(self) -> int:
        return self.wmark(WMARK_LOW)

    @property
    def wmark_high(self) -> int:
        return self.wmark(WMARK_HIGH)

    def boost_watermark(self) -> bool:
        """Models `boost_watermark()`: raise the boost by a pageblock on a fragmenting fallback."""
        if not self.watermark_boost_factor:
            return False
        # zones smaller than four pageblocks are never boosted
        if (self.managed // PAGEBLOCK_NR_PAGES) < 4:
            return False
        max_boost = self.watermark[WMARK_HIGH] * self.watermark_boost_factor // 10000
        max_boost = max(PAGEBLOCK_NR_PAGES, max_boost)
        self.watermark_boost = min(self.watermark_boost + PAGEBLOCK_NR_PAGES, max_boost)
        self.boosted = True
        return True

    # -------------------------------------------------------------- counting
    def free_counts(self) -> list[list[int]]:
        """[order][migratetype] -> number of free blocks (the pagetypeinfo table)."""
        base = self.zi * LISTS_PER_ZONE
        counts = self.fl.count[base : base + LISTS_PER_ZONE].tolist()
        return [counts[o * MIGRATE_TYPES : (o + 1) * MIGRATE_TYPES] for o in range(NR_PAGE_ORDERS)]

    def nr_free_per_order(self) -> list[int]:
        return [sum(row) for row in self.free_counts()]

    def nr_free_pages_blocks(self) -> int:
        """NR_FREE_PAGES_BLOCKS (6.15+): the free pages in blocks of pageblock_order or more, those on
        the isolate lists aside (mm/page_alloc.c `__add_to_free_list()`, `__del_page_from_free_list()`)."""
        counts = self.free_counts()
        orders = range(PAGEBLOCK_ORDER, NR_PAGE_ORDERS)
        return sum((sum(counts[o]) - counts[o][MigrateType.ISOLATE]) << o for o in orders)

    def block_type_counts(self) -> list[int]:
        """Number of pageblocks of each migratetype ("Number of blocks type")."""
        blocks = self.pb_mt[self.first_block : self.first_block + self.nr_blocks]
        return [blocks.count(mt) for mt in range(MIGRATE_TYPES)]
