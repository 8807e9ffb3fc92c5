"""Geometry, migrate types, allocation classes: the kernel's numbers and names (x86-64 defaults)."""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Final, NamedTuple

PAGE_SHIFT: Final = 12
PAGE_SIZE: Final = 1 << PAGE_SHIFT
MAX_PAGE_ORDER: Final = 10
NR_PAGE_ORDERS: Final = MAX_PAGE_ORDER + 1
PAGEBLOCK_ORDER: Final = 9
PAGEBLOCK_NR_PAGES: Final = 1 << PAGEBLOCK_ORDER
PAGE_ALLOC_COSTLY_ORDER: Final = 3
SWAP_CLUSTER_MAX: Final = 32
COMPACT_CLUSTER_MAX: Final = SWAP_CLUSTER_MAX


class Mode(StrEnum):
    """Which kernel's design the simulation follows (the scenario's `mode`).

    `modern`: 6.x (ALLOC_NOFRAGMENT, kcompactd, proactive compaction, skip hints, deferral);
    `2.6.35`: the first compaction (no kcompactd, a different free scanner and counter names).
    """

    MODERN = "modern"
    V2_6_35 = "2.6.35"


class MigrateType(IntEnum):
    """include/linux/mmzone.h `enum migratetype` without CONFIG_CMA."""

    UNMOVABLE = 0
    MOVABLE = 1
    RECLAIMABLE = 2
    HIGHATOMIC = 3
    ISOLATE = 4


MIGRATE_PCPTYPES: Final = 3
MIGRATE_TYPES: Final = 5
#: The names /proc/pagetypeinfo prints (mm/vmstat.c `migratetype_names`).
MIGRATETYPE_NAMES: Final = ("Unmovable", "Movable", "Reclaimable", "HighAtomic", "Isolate")

#: mm/page_alloc.c `fallbacks[]`: the other types a request may take a block from, in order.
FALLBACKS: Final[dict[int, tuple[int, ...]]] = {
    MigrateType.UNMOVABLE: (MigrateType.RECLAIMABLE, MigrateType.MOVABLE),
    MigrateType.MOVABLE: (MigrateType.RECLAIMABLE, MigrateType.UNMOVABLE),
    MigrateType.RECLAIMABLE: (MigrateType.UNMOVABLE, MigrateType.MOVABLE),
    MigrateType.HIGHATOMIC: (),
    MigrateType.ISOLATE: (),
}


class ZoneType(IntEnum):
    """`enum zone_type`. Index into lowmem_reserve; x86-64 has DMA, DMA32, Normal, Movable, Device."""

    DMA = 0
    DMA32 = 1
    NORMAL = 2
    HIGHMEM = 3
    MOVABLE = 4


ZONE_NAMES: Final = {
    ZoneType.DMA: "DMA",
    ZoneType.DMA32: "DMA32",
    ZoneType.NORMAL: "Normal",
    ZoneType.HIGHMEM: "HighMem",
    ZoneType.MOVABLE: "Movable",
}
ZONE_BY_NAME: Final = {v: k for k, v in ZONE_NAMES.items()}

#: /proc/sys/vm/lowmem_reserve_ratio defaults per zone type.
LOWMEM_RESERVE_RATIO: Final = {
    ZoneType.DMA: 256,
    ZoneType.DMA32: 256,
    ZoneType.NORMAL: 32,
    ZoneType.HIGHMEM: 0,
    ZoneType.MOVABLE: 0,
}


class PageKind(IntEnum):
    """What a page is used for: the per-page byte in `Node.kind`.

    0 is a free page in the buddy allocator. Allocation classes follow; each one has the
    migratetype of its gfp flags and a movability (see `CLASS_INFO`).
    """

    FREE = 0
    ANON = 1  # anonymous user memory: GFP_HIGHUSER_MOVABLE, on the LRU
    PAGECACHE = 2  # file pages: movable, on the LRU, dropped by reclaim
    SLAB_RECLAIMABLE = 3  # dentries, inodes: __GFP_RECLAIMABLE, not migratable
    SLAB_UNMOVABLE = 4  # kmalloc slabs: GFP_KERNEL
    PAGETABLE = 5  # page tables: unmovable
    KERNEL = 6  # other kernel allocations (drivers, vmalloc backing): unmovable
    HUGE = 7  # order-9 huge pages (THP / hugetlb): movable compound pages
    LAZYFREE = 8  # anonymous pages after MADV_FREE: movable, dropped by reclaim without I/O
    ISOLATED_FREE = 9  # free pages taken off the buddy lists by the compaction free scanner
    HOLE = 10  # not present (outside every zone, or a memory hole)


NR_PAGE_KINDS: Final = 11
ALLOC_KINDS: Final = tuple(
    k for k in PageKind if k not in (PageKind.FREE, PageKind.ISOLATED_FREE, PageKind.HOLE)
)


class ClassInfo(NamedTuple):
    name: str  # the scenario's name for the class
    migratetype: int  # gfp_migratetype()
    movable: bool  # PageLRU() or __PageMovable(): the migration scanner may isolate it
    lru: bool  # on an LRU list (reclaim can scan it)
    gfp: str  # the gfp flags the kernel would use, for trace output
    highest_zone: ZoneType  # gfp_zone(): the highest zone it may come from


CLASS_INFO: Final[dict[int, ClassInfo]] = {
    PageKind.ANON: ClassInfo(
        "anon", MigrateType.MOVABLE, True, True, "GFP_HIGHUSER_MOVABLE", ZoneType.MOVABLE
    ),
    PageKind.PAGECACHE: ClassInfo(
        "pagecache", MigrateType.MOVABLE, True, True, "GFP_HIGHUSER_MOVABLE", ZoneType.MOVABLE
    ),
    PageKind.SLAB_RECLAIMABLE: ClassInfo(
        "slab_reclaimable",
        MigrateType.RECLAIMABLE,
        False,
        False,
        "GFP_KERNEL|__GFP_RECLAIMABLE",
        ZoneType.NORMAL,
    ),
    PageKind.SLAB_UNMOVABLE: ClassInfo(
        "slab_unmovable", MigrateType.UNMOVABLE, False, False, "GFP_KERNEL", ZoneType.NORMAL
    ),
    PageKind.PAGETABLE: ClassInfo(
        "pagetable", MigrateType.UNMOVABLE, False, False, "GFP_PGTABLE_USER", ZoneType.NORMAL
    ),
    PageKind.KERNEL: ClassInfo("kernel", MigrateType.UNMOVABLE, False, False, "GFP_KERNEL", ZoneType.NORMAL),
    PageKind.HUGE: ClassInfo("huge", MigrateType.MOVABLE, True, True, "GFP_TRANSHUGE", ZoneType.MOVABLE),
    PageKind.LAZYFREE: ClassInfo(
        "lazyfree", MigrateType.MOVABLE, True, True, "GFP_HIGHUSER_MOVABLE", ZoneType.MOVABLE
    ),
}
CLASS_BY_NAME: Final = {info.name: kind for kind, info in CLASS_INFO.items()}

#: The page kinds on each LRU, the one source of /proc/vmstat, /proc/zoneinfo and /proc/meminfo's
#: LRU counters (`folio_is_file_lru()`): anonymous memory and THPs on the anon LRU (a THP counts its
#: 512 pages); page cache, and MADV_FREE pages, which `lru_lazyfree()` moves to the file LRU.
LRU_ANON_KINDS: Final = (PageKind.ANON, PageKind.HUGE)
LRU_FILE_KINDS: Final = (PageKind.PAGECACHE, PageKind.LAZYFREE)


def _table(pred: dict[int, bool]) -> bytes:
    return bytes(1 if pred.get(i, False) else 0 for i in range(256))


#: bytes.translate tables over `Node.kind`: 1 where the page is movable / on the LRU / allocated.
MOVABLE_TABLE: Final = _table({k: i.movable for k, i in CLASS_INFO.items()})
ALLOCATED_TABLE: Final = _table({k: True for k in CLASS_INFO})
