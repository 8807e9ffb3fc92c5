"""Compaction tracepoints (include/trace/events/compaction.h) as core events.

Field names and order follow each tracepoint's TP_STRUCT__entry, so `simcore.trace` can print them
with the kernel's TP_printk format. Zone fields carry the zone *type index* (`enum zone_type`), as
the kernel records `zone_idx(zone)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from simcore.events import Event


@dataclass(slots=True)
class MmCompactionBegin(Event):
    name: ClassVar[str] = "mm_compaction_begin"
    zone_start: int
    migrate_pfn: int
    free_pfn: int
    zone_end: int
    sync: bool


@dataclass(slots=True)
class MmCompactionEnd(Event):
    name: ClassVar[str] = "mm_compaction_end"
    zone_start: int
    migrate_pfn: int
    free_pfn: int
    zone_end: int
    sync: bool
    status: int


@dataclass(slots=True)
class MmCompactionIsolateMigratepages(Event):
    name: ClassVar[str] = "mm_compaction_isolate_migratepages"
    start_pfn: int
    end_pfn: int
    nr_scanned: int
    nr_taken: int


@dataclass(slots=True)
class MmCompactionIsolateFreepages(Event):
    name: ClassVar[str] = "mm_compaction_isolate_freepages"
    start_pfn: int
    end_pfn: int
    nr_scanned: int
    nr_taken: int


@dataclass(slots=True)
class MmCompactionFastIsolateFreepages(Event):
    """compaction.h `mm_compaction_fast_isolate_freepages`: a free-list search for a target (5.1+),
    from min_pfn to the free scanner's cursor."""

    name: ClassVar[str] = "mm_compaction_fast_isolate_freepages"
    start_pfn: int
    end_pfn: int
    nr_scanned: int
    nr_taken: int


@dataclass(slots=True)
class MmCompactionMigratepages(Event):
    name: ClassVar[str] = "mm_compaction_migratepages"
    nr_migrated: int
    nr_failed: int


@dataclass(slots=True)
class MmCompactionFinished(Event):
    name: ClassVar[str] = "mm_compaction_finished"
    nid: int
    idx: int
    order: int
    ret: int


@dataclass(slots=True)
class MmCompactionTryToCompactPages(Event):
    """compaction.h `mm_compaction_try_to_compact_pages`: direct compaction starts (modern mode)."""

    name: ClassVar[str] = "mm_compaction_try_to_compact_pages"
    order: int
    gfp_mask: str
    priority: int


@dataclass(slots=True)
class MmCompactionSuitable(Event):
    name: ClassVar[str] = "mm_compaction_suitable"
    nid: int
    idx: int
    order: int
    ret: int


@dataclass(slots=True)
class MmCompactionDeferTemplate(Event):
    """The kernel's `mm_compaction_defer_template` event class, shared by the three below."""

    nid: int
    idx: int
    order: int
    considered: int
    defer_shift: int
    order_failed: int


@dataclass(slots=True)
class MmCompactionDeferred(MmCompactionDeferTemplate):
    name: ClassVar[str] = "mm_compaction_deferred"


@dataclass(slots=True)
class MmCompactionDeferCompaction(MmCompactionDeferTemplate):
    name: ClassVar[str] = "mm_compaction_defer_compaction"


@dataclass(slots=True)
class MmCompactionDeferReset(MmCompactionDeferTemplate):
    name: ClassVar[str] = "mm_compaction_defer_reset"


@dataclass(slots=True)
class MmCompactionWakeupKcompactd(Event):
    name: ClassVar[str] = "mm_compaction_wakeup_kcompactd"
    nid: int
    order: int
    highest_zoneidx: int


@dataclass(slots=True)
class MmCompactionKcompactdWake(Event):
    name: ClassVar[str] = "mm_compaction_kcompactd_wake"
    nid: int
    order: int
    highest_zoneidx: int


@dataclass(slots=True)
class MmCompactionKcompactdSleep(Event):
    name: ClassVar[str] = "mm_compaction_kcompactd_sleep"
    nid: int


@dataclass(slots=True)
class MmVmscanLruIsolate(Event):
    """include/trace/events/vmscan.h `mm_vmscan_lru_isolate` as of 2.6.36-3.2, with the lumpy counts
    (3.3 and 3.4 also printed ` file=%d`; 3.5 dropped the lumpy fields with lumpy reclaim)."""

    name: ClassVar[str] = "mm_vmscan_lru_isolate"
    isolate_mode: int
    order: int
    nr_requested: int
    nr_scanned: int
    nr_taken: int
    nr_lumpy_taken: int
    nr_lumpy_dirty: int
    nr_lumpy_failed: int
