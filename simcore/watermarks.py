"""Watermarks and lowmem reserves, and the watermark check (mm/page_alloc.c)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from simcore.constants import (
    LOWMEM_RESERVE_RATIO,
    MIGRATE_PCPTYPES,
    NR_PAGE_ORDERS,
    PAGE_SHIFT,
    SWAP_CLUSTER_MAX,
    MigrateType,
    ZoneType,
)
from simcore.zone import WMARK_HIGH, WMARK_LOW, WMARK_MIN, WMARK_PROMO, Zone

ALLOC_WMARK_MIN = WMARK_MIN
ALLOC_WMARK_LOW = WMARK_LOW
ALLOC_WMARK_HIGH = WMARK_HIGH
ALLOC_WMARK_MASK = 0x3
ALLOC_NO_WATERMARKS = 0x04
ALLOC_OOM = 0x08
ALLOC_HARDER = 0x10
ALLOC_HIGHATOMIC = 0x20
ALLOC_NOFRAGMENT = 0x100
ALLOC_KSWAPD = 0x800
ALLOC_RESERVES = ALLOC_HARDER | ALLOC_OOM | ALLOC_HIGHATOMIC


def calculate_min_free_kbytes(lowmem_pages: int) -> int:
    """Models `calculate_min_free_kbytes()`: int_sqrt(lowmem_kbytes * 16), clamped to [128, 262144]."""
    lowmem_kbytes = lowmem_pages * ((1 << PAGE_SHIFT) >> 10)
    new = math.isqrt(lowmem_kbytes * 16)
    return min(max(new, 128), 262144)


def setup_per_zone_wmarks(zones: Sequence[Zone], min_free_kbytes: int, watermark_scale_factor: int) -> None:
    """Models `__setup_per_zone_wmarks()`: split min_free_kbytes by managed pages, then low/high/promo."""
    pages_min = min_free_kbytes >> (PAGE_SHIFT - 10)
    lowmem_pages = sum(z.managed for z in zones if z.ztype not in (ZoneType.HIGHMEM, ZoneType.MOVABLE))
    for z in zones:
        tmp = pages_min * z.managed // lowmem_pages if lowmem_pages else 0
        if z.ztype in (ZoneType.HIGHMEM, ZoneType.MOVABLE):
            # highmem: a small fixed reserve; __GFP_HIGH allocations rarely need it
            z.watermark[WMARK_MIN] = min(max(z.managed // 1024, SWAP_CLUSTER_MAX), 128)
        else:
            z.watermark[WMARK_MIN] = tmp
        tmp = max(tmp >> 2, z.managed * watermark_scale_factor // 10000)
        z.watermark_boost = 0
        z.watermark[WMARK_LOW] = z.watermark[WMARK_MIN] + tmp
        z.watermark[WMARK_HIGH] = z.watermark[WMARK_LOW] + tmp
        z.watermark[WMARK_PROMO] = z.watermark[WMARK_HIGH] + tmp


def setup_per_zone_lowmem_reserve(zones: Sequence[Zone], nr_zone_types: int) -> None:
    """Models `setup_per_zone_lowmem_reserve()`: protect lower zones from higher-zone allocations."""
    by_type = {z.idx: z for z in zones}
    for z in zones:
        z.lowmem_reserve = [0] * nr_zone_types
        ratio = LOWMEM_RESERVE_RATIO[z.ztype]
        managed = 0
        for j in range(z.idx + 1, nr_zone_types):
            upper = by_type.get(j)
            if upper is not None:
                managed += upper.managed
            z.lowmem_reserve[j] = managed // ratio if ratio else 0


def zone_watermark_ok(
    z: Zone, order: int, mark: int, highest_zoneidx: int, alloc_flags: int, free_pages: int | None = None
) -> bool:
    """Models `__zone_watermark_ok()`.

    ``free - ((1 << order) - 1)`` must stay above ``mark + lowmem_reserve[highest_zoneidx]``; for
    order > 0 a free block of at least that order must also exist in a usable free list.
    """
    free = z.free_pages if free_pages is None else free_pages
    free -= (1 << order) - 1
    if not (alloc_flags & ALLOC_RESERVES):
        free -= z.nr_free_highatomic
    minimum = mark
    if alloc_flags & ALLOC_RESERVES:
        if alloc_flags & ALLOC_OOM:
            minimum -= minimum // 2
        else:
            minimum -= minimum // 4
    if free <= minimum + z.lowmem_reserve[highest_zoneidx]:
        return False
    if order == 0:
        return True
    fa = z.free_area
    for o in range(order, NR_PAGE_ORDERS):
        area = fa[o]
        for mt in range(MIGRATE_PCPTYPES):
            if area[mt]:
                return True
        if alloc_flags & (ALLOC_HIGHATOMIC | ALLOC_OOM) and area[MigrateType.HIGHATOMIC]:
            return True
    return False
