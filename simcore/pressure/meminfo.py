"""Memory estimates the notification mechanisms read: MemAvailable, swap space, totalreserve_pages."""

from __future__ import annotations

from dataclasses import dataclass

from simcore.constants import LRU_FILE_KINDS, PageKind
from simcore.node import Node
from simcore.zone import WMARK_HIGH, WMARK_LOW


@dataclass(slots=True)
class SwapSpace:
    """One swap device: `total` slots of one page; `used` of them hold swapped-out anonymous pages."""

    total: int
    used: int = 0

    @property
    def free(self) -> int:
        return self.total - self.used


def totalreserve_pages(node: Node) -> int:
    """Models `calculate_totalreserve_pages()`: per zone, its largest lowmem_reserve plus wmark_high."""
    return sum(max(z.lowmem_reserve) + z.watermark[WMARK_HIGH] for z in node.zones)


def file_lru_pages(node: Node) -> int:
    """Pages on the file LRU: page cache plus MADV_FREE pages (the kernel moves those to the file LRU)."""
    k = node.nr_kind_pages
    return sum(k[x] for x in LRU_FILE_KINDS)


def si_mem_available(node: Node) -> int:
    """Models `si_mem_available()` (MemAvailable in /proc/meminfo)."""
    wmark_low = sum(z.watermark[WMARK_LOW] for z in node.zones)
    available = node.free_pages - totalreserve_pages(node)
    pagecache = file_lru_pages(node)
    available += pagecache - min(pagecache // 2, wmark_low)
    reclaimable = node.nr_kind_pages[PageKind.SLAB_RECLAIMABLE]
    available += reclaimable - min(reclaimable // 2, wmark_low)
    return max(available, 0)
