"""Text renderers in the kernel's exact formats (mm/vmstat.c, mm/page_alloc.c).

/proc/buddyinfo, /proc/pagetypeinfo, /proc/vmstat, /proc/zoneinfo (the parts zonescope models) and
debugfs extfrag/extfrag_index, extfrag/unusable_index. The format strings follow the kernel's
seq_printf calls so that the output can be set beside a real machine's.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from simcore.constants import (
    LRU_ANON_KINDS,
    LRU_FILE_KINDS,
    MIGRATE_TYPES,
    MIGRATETYPE_NAMES,
    NR_PAGE_ORDERS,
    PAGEBLOCK_NR_PAGES,
    PAGEBLOCK_ORDER,
)
from simcore.fragmentation import (
    fill_contig_page_info,
    format_index,
    fragmentation_index,
    unusable_free_index,
)
from simcore.node import Node
from simcore.vmstat import node_vmstat

PROC_FILES = ("buddyinfo", "pagetypeinfo", "vmstat", "zoneinfo", "extfrag_index", "unusable_index")


def buddyinfo(node: Node) -> str:
    """`frag_show_print()`."""
    out = []
    for z in node.zones:
        counts = "".join(f"{z.nr_free(o):6d} " for o in range(NR_PAGE_ORDERS))
        line = f"Node {node.nid}, zone {z.name:>8} " + counts
        out.append(line + "\n")
    return "".join(out)


def pagetypeinfo(node: Node) -> str:
    """`pagetypeinfo_show()`: header, free counts per type and order, pageblocks per type."""
    out = [f"Page block order: {PAGEBLOCK_ORDER}\n", f"Pages per block:  {PAGEBLOCK_NR_PAGES}\n", "\n"]
    out.append(f"{'Free pages count per migrate type at order':<43} ")
    out.append("".join(f"{o:6d} " for o in range(NR_PAGE_ORDERS)) + "\n")
    for z in node.zones:
        for mt in range(MIGRATE_TYPES):
            row = f"Node {node.nid:4d}, zone {z.name:>8}, type {MIGRATETYPE_NAMES[mt]:>12} "
            for o in range(NR_PAGE_ORDERS):
                n = z.free_count(o, mt)
                # the kernel stops counting at 100000 and prints ">100000"
                row += f">{100000:6d} " if n >= 100000 else f"{n:6d} "
            out.append(row + "\n")
    out.append(f"\n{'Number of blocks type ':<23}")
    out.append("".join(f"{name:>12} " for name in MIGRATETYPE_NAMES) + "\n")
    for z in node.zones:
        counts = z.block_type_counts()
        out.append(f"Node {node.nid}, zone {z.name:>8} " + "".join(f"{c:12d} " for c in counts) + "\n")
    return "".join(out)


def vmstat(node: Node) -> str:
    return "".join(f"{k} {v}\n" for k, v in node_vmstat(node).items())


ZONE_STAT_ITEMS = (
    "nr_free_pages",
    "nr_free_pages_blocks",
    "nr_zone_inactive_anon",
    "nr_zone_active_anon",
    "nr_zone_inactive_file",
    "nr_zone_active_file",
    "nr_zone_unevictable",
    "nr_zone_write_pending",
    "nr_mlock",
)


def zoneinfo(node: Node) -> str:
    """`zoneinfo_show_print()` for what we model: no per-cpu pagesets, no NUMA counters."""
    stats = node_vmstat(node)
    node_items = [k for k in stats if k.startswith("nr_") and not k.startswith(("nr_zone_", "nr_free_pages"))]
    out = []
    for i, z in enumerate(node.zones):
        s = f"Node {node.nid}, zone {z.name:>8}"
        if i == 0:
            s += "\n  per-node stats"
            for k in node_items:
                s += f"\n      {k:<12} {stats[k]}"
        s += (
            f"\n  pages free     {z.free_pages}"
            f"\n        boost    {z.watermark_boost}"
            f"\n        min      {z.watermark[0]}"
            f"\n        low      {z.watermark[1]}"
            f"\n        high     {z.watermark[2]}"
            f"\n        promo    {z.watermark[3]}"
            f"\n        spanned  {z.spanned}"
            f"\n        present  {z.present}"
            f"\n        managed  {z.managed}"
            f"\n        cma      0"
        )
        s += "\n        protection: (" + ", ".join(str(r) for r in z.lowmem_reserve) + ")"
        zone_stats = zone_vmstat(node, z.idx)
        for k in ZONE_STAT_ITEMS:
            s += f"\n      {k:<12} {zone_stats.get(k, 0)}"
        s += f"\n  node_unreclaimable:  0\n  start_pfn:           {z.start_pfn}\n"
        out.append(s)
    return "".join(out)


def zone_vmstat(node: Node, zone_idx: int) -> dict[str, int]:
    """Per-zone state counters (zone_page_state) from the page arrays."""
    z = next(z for z in node.zones if z.idx == zone_idx)
    kind = np.frombuffer(node.kind, dtype=np.uint8)[z.start_pfn : z.end_pfn]
    counts = np.bincount(kind, minlength=256)
    anon = int(sum(counts[x] for x in LRU_ANON_KINDS))
    return {
        "nr_free_pages": z.free_pages,
        "nr_free_pages_blocks": z.nr_free_pages_blocks(),
        "nr_zone_inactive_anon": anon,
        "nr_zone_active_anon": 0,
        "nr_zone_inactive_file": int(sum(counts[x] for x in LRU_FILE_KINDS)),
        "nr_zone_active_file": 0,
    }


def _index_table(node: Node, fn: Callable[[int, list[int]], str]) -> str:
    out = []
    for z in node.zones:
        nr_free = z.nr_free_per_order()
        values = "".join(fn(o, nr_free) for o in range(NR_PAGE_ORDERS))
        out.append(f"Node {node.nid}, zone {z.name:>8} " + values + "\n")
    return "".join(out)


def extfrag_index(node: Node) -> str:
    """debugfs extfrag/extfrag_index: `extfrag_show_print()`, "%2d.%03d " per order."""
    return _index_table(
        node, lambda o, nf: format_index(fragmentation_index(fill_contig_page_info(nf, o), o), 2) + " "
    )


def unusable_index(node: Node) -> str:
    """debugfs extfrag/unusable_index: `unusable_show_print()`, "%d.%03d " per order."""
    return _index_table(
        node, lambda o, nf: format_index(unusable_free_index(fill_contig_page_info(nf, o), o), 1) + " "
    )


RENDERERS: dict[str, Callable[[Node], str]] = {
    "buddyinfo": buddyinfo,
    "pagetypeinfo": pagetypeinfo,
    "vmstat": vmstat,
    "zoneinfo": zoneinfo,
    "extfrag_index": extfrag_index,
    "unusable_index": unusable_index,
}


def render(node: Node, name: str) -> str:
    return RENDERERS[name](node)
