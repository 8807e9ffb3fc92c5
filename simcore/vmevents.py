"""The event counters of /proc/vmstat: their names, in mm/vmstat.c `vmstat_text[]` order.

The node keeps one count per name (`Node.vm_events`, made by `new_vm_events()`) and the subsystems
that model an event bump it; `simcore.vmstat` reads them out beside the state items. This module sits
below `simcore.node` so that the node can create its counters without importing the reader.
"""

from __future__ import annotations

from typing import Final

#: The names the model keeps, in the order of a 6.18 /proc/vmstat (tests/data/kernel/vmstat.txt);
#: docs/fidelity.md lists the kernel's other names and why they are absent.
EVENT_ITEMS: Final = (
    "pswpin",
    "pswpout",
    "pgalloc_dma",
    "pgalloc_dma32",
    "pgalloc_normal",
    "pgalloc_high",
    "pgalloc_movable",
    "pgalloc_device",
    "allocstall_dma",
    "allocstall_dma32",
    "allocstall_normal",
    "allocstall_movable",
    "allocstall_device",
    "pgfree",
    "pglazyfree",
    "pglazyfreed",
    "pgrefill",
    "pgsteal_kswapd",
    "pgsteal_direct",
    "pgscan_kswapd",
    "pgscan_direct",
    "pgscan_anon",
    "pgscan_file",
    "pgsteal_anon",
    "pgsteal_file",
    "pageoutrun",
    "drop_pagecache",
    "drop_slab",
    "oom_kill",
    "pgmigrate_success",
    "pgmigrate_fail",
    "compact_migrate_scanned",
    "compact_free_scanned",
    "compact_isolated",
    "compact_stall",
    "compact_fail",
    "compact_success",
    "compact_daemon_wake",
    "compact_daemon_migrate_scanned",
    "compact_daemon_free_scanned",
    "thp_fault_alloc",
    "thp_fault_fallback",
    "balloon_inflate",
    "balloon_deflate",
)

#: 2.6.35 names the compaction counters differently (mm/vmstat.c of that release).
EVENT_ITEMS_2_6_35: Final = (
    "pgalloc_dma",
    "pgalloc_dma32",
    "pgalloc_normal",
    "pgalloc_high",
    "pgalloc_movable",
    "pgfree",
    "pgrefill",
    "pgsteal_kswapd",
    "pgsteal_direct",
    "pgscan_kswapd",
    "pgscan_direct",
    "pageoutrun",
    "allocstall",
    "compact_blocks_moved",
    "compact_pages_moved",
    "compact_pagemigrate_failed",
    "compact_stall",
    "compact_fail",
    "compact_success",
    "oom_kill",
)


def new_vm_events() -> dict[str, int]:
    names = dict.fromkeys(EVENT_ITEMS, 0)
    names.update(dict.fromkeys(EVENT_ITEMS_2_6_35, 0))
    return names
