"""/proc/vmstat: the counters zonescope models, with the kernel's names and in the kernel's order.

State items (nr_*) are derived from the node when read; event counters live in `node.vm_events`
and are bumped by the subsystems that model them (compaction, reclaim, OOM); their names are in
`simcore.vmevents`. The order is the order of mm/vmstat.c `vmstat_text[]` (checked against a real
6.x /proc/vmstat in the tests).
"""

from __future__ import annotations

from functools import cache
from typing import Final

from simcore.constants import LRU_ANON_KINDS, LRU_FILE_KINDS, PAGEBLOCK_NR_PAGES, Mode, PageKind
from simcore.node import Node
from simcore.vmevents import EVENT_ITEMS, EVENT_ITEMS_2_6_35

STATE_ITEMS: Final = (
    "nr_free_pages",
    "nr_free_pages_blocks",
    "nr_zone_inactive_anon",
    "nr_zone_active_anon",
    "nr_zone_inactive_file",
    "nr_zone_active_file",
    "nr_inactive_anon",
    "nr_active_anon",
    "nr_inactive_file",
    "nr_active_file",
    "nr_slab_reclaimable",
    "nr_slab_unreclaimable",
    "nr_isolated_anon",
    "nr_isolated_file",
    "nr_anon_pages",
    "nr_file_pages",
    "nr_anon_transparent_hugepages",
    "nr_kernel_misc_reclaimable",
    "nr_page_table_pages",
    "nr_swapcached",
    "nr_balloon_pages",
)

#: The modelled state items a 2.6.35 kernel printed, in its order (`enum zone_stat_item` of the time:
#: no nr_zone_* (4.8), nr_anon_transparent_hugepages (2.6.38), nr_kernel_misc_reclaimable (4.20) or
#: nr_swapcached (5.x) yet; page tables came after the slab counters, the isolated counts last)
STATE_ITEMS_2_6_35: Final = (
    "nr_free_pages",
    "nr_inactive_anon",
    "nr_active_anon",
    "nr_inactive_file",
    "nr_active_file",
    "nr_anon_pages",
    "nr_file_pages",
    "nr_slab_reclaimable",
    "nr_slab_unreclaimable",
    "nr_page_table_pages",
    "nr_isolated_anon",
    "nr_isolated_file",
)

_PGALLOC_NAME: Final = {
    "DMA": "pgalloc_dma",
    "DMA32": "pgalloc_dma32",
    "Normal": "pgalloc_normal",
    "HighMem": "pgalloc_high",
    "Movable": "pgalloc_movable",
}


#: Per-zone-type counters exist only for the zone types of the arch's config: x86-64 has no HighMem,
#: x86-32 no DMA32 and no Device (the kernel prints pgalloc_dma32 only with CONFIG_ZONE_DMA32,
#: pgalloc_device only with CONFIG_ZONE_DEVICE, which needs a 64-bit vmemmap).
_ABSENT_ZONE_SUFFIXES: Final = {"x86_64": ("_high",), "x86_32": ("_dma32", "_device")}


def _zone_counter_present(name: str, arch: str) -> bool:
    if not name.startswith(("pgalloc_", "allocstall_")):
        return True
    return not name.endswith(_ABSENT_ZONE_SUFFIXES.get(arch, ()))


@cache
def _event_names(old: bool, arch: str) -> tuple[str, ...]:
    """The event counters /proc/vmstat prints for a mode and an arch, in order (read every tick)."""
    names = EVENT_ITEMS_2_6_35 if old else EVENT_ITEMS
    return tuple(n for n in names if _zone_counter_present(n, arch))


def node_vmstat(node: Node) -> dict[str, int]:
    """Every modelled counter, kernel name -> value, in /proc/vmstat order."""
    k = node.nr_kind_pages
    anon = sum(k[x] for x in LRU_ANON_KINDS)
    file = sum(k[x] for x in LRU_FILE_KINDS)
    ev = node.vm_events
    state = {
        "nr_free_pages": node.free_pages,
        "nr_free_pages_blocks": sum(z.nr_free_pages_blocks() for z in node.zones),
        # no active/inactive aging is modelled: every LRU page counts as inactive (docs/fidelity.md)
        "nr_zone_inactive_anon": anon,
        "nr_zone_active_anon": 0,
        "nr_zone_inactive_file": file,
        "nr_zone_active_file": 0,
        "nr_inactive_anon": anon,
        "nr_active_anon": 0,
        "nr_inactive_file": file,
        "nr_active_file": 0,
        "nr_slab_reclaimable": k[PageKind.SLAB_RECLAIMABLE],
        "nr_slab_unreclaimable": k[PageKind.SLAB_UNMOVABLE],
        "nr_isolated_anon": node.nr_isolated[0],
        "nr_isolated_file": node.nr_isolated[1],
        # NR_ANON_MAPPED: every mapped anonymous page, MADV_FREE ones included
        "nr_anon_pages": k[PageKind.ANON] + k[PageKind.HUGE] + k[PageKind.LAZYFREE],
        "nr_file_pages": k[PageKind.PAGECACHE],
        "nr_anon_transparent_hugepages": k[PageKind.HUGE] // PAGEBLOCK_NR_PAGES,
        "nr_kernel_misc_reclaimable": 0,
        "nr_page_table_pages": k[PageKind.PAGETABLE],
        "nr_swapcached": 0,
        # NR_BALLOON_PAGES moves with every page inflated and deflated (mm/balloon_compaction.c
        # balloon_page_enqueue_one(), balloon_page_list_dequeue()); the model's balloon pages leave
        # it only by deflation
        "nr_balloon_pages": ev["balloon_inflate"] - ev["balloon_deflate"],
    }
    ev = dict(ev)
    for z in node.zones:
        ev[_PGALLOC_NAME[z.name]] = z.pgalloc
    ev["pgfree"] = node.pgfree
    ev["thp_fault_alloc"] = node.thp_fault_alloc
    old = node.mode == Mode.V2_6_35
    out = {n: state[n] for n in STATE_ITEMS_2_6_35} if old else state
    get = ev.get
    for n in _event_names(old, node.arch):
        out[n] = get(n, 0)
    return out
