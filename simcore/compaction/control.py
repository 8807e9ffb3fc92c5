"""`struct compact_control` and the result, mode and priority names of mm/compaction.c.

Theory of operation (the whole package)
----------------------------------------
A compaction run (`simcore.compaction.run.CompactionRun`) works on one zone with two cursors in a
`CompactControl`: ``migrate_pfn`` climbs from the zone start, ``free_pfn`` descends from the last
pageblock. One *step* is one turn of `compact_zone()`'s loop: the finish checks
(`__compact_finished`), then the migration scanner isolates up to COMPACT_CLUSTER_MAX (32) movable
pages from the pageblock it is on, or the rest of the block when the turn finishes a pageblock
(`finish_pageblock`, see `CompactionRun.step`), then `migrate_pages()` moves each
one into a page that the free scanner isolates on demand from the top of the zone
(`isolate_freepages`, called from `compaction_alloc` when the isolated free list is empty). The
source pages go back to the buddy allocator, where they merge; at the end of the run the unused
isolated free pages go back too. The scanners only move toward each other, and the run ends when
they meet in the same pageblock (or earlier, by the finish rules of the trigger).

Array layout: the node's ``kind``, ``buddy`` and ``alloc_order`` bytearrays (see `simcore.node`).
Each scanner finds the heads it may act on (allocations it may isolate, free blocks) for a window of
pageblocks in one numpy pass, with their running page total, and keeps them for the burst of steps
(`Compactor.isolatable`, `Compactor.free_candidates`): nothing but the run touches memory in a burst,
and it only changes blocks behind its scanners. A step then finds its batch by bisection on that
total; Python loops run per block taken (a free list removal each), never per page scanned.

Isolated free pages are off the free lists with ``kind == ISOLATED_FREE``. They are kept by order
(Linux 6.9+) or split to order 0 (earlier kernels and the `2.6.35` mode) in ``freepages[order]``.
Pages isolated for migration are moved within the same step, so ``nr_isolated_anon/file`` (0 at
every point between steps) are not touched. Within a burst the page array writes of order-0 moves,
and the frees of the pages moved from, wait and are made in bulk (`migrate.flush_sources`); every
burst ends with them done, so nothing outside a burst sees the difference.

What differs from Linux is listed in docs/fidelity.md ("Compaction"): no fast_find_migrateblock
search, no dirty/writeback pages, no lock contention, no capture control.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from enum import IntEnum

from simcore.constants import NR_PAGE_ORDERS, PAGEBLOCK_ORDER, MigrateType
from simcore.zone import Zone


class CompactResult(IntEnum):
    """`enum compact_result` (include/linux/compaction.h)."""

    NOT_SUITABLE_ZONE = 0
    SKIPPED = 1
    DEFERRED = 2
    NO_SUITABLE_PAGE = 3
    CONTINUE = 4
    COMPLETE = 5
    PARTIAL_SKIPPED = 6
    CONTENDED = 7
    SUCCESS = 8


#: The names the COMPACTION_STATUS symbol table prints in trace output.
RESULT_NAMES: dict[int, str] = {
    CompactResult.NOT_SUITABLE_ZONE: "not_suitable_zone",
    CompactResult.SKIPPED: "skipped",
    CompactResult.DEFERRED: "deferred",
    CompactResult.NO_SUITABLE_PAGE: "no_suitable_page",
    CompactResult.CONTINUE: "continue",
    CompactResult.COMPLETE: "complete",
    CompactResult.PARTIAL_SKIPPED: "partial_skipped",
    CompactResult.CONTENDED: "contended",
    CompactResult.SUCCESS: "success",
}


class MigrateMode(IntEnum):
    """`enum migrate_mode` (the subset compaction uses)."""

    ASYNC = 0
    SYNC_LIGHT = 1
    SYNC = 2


MODE_NAMES = ("async", "sync_light", "sync")


class Trigger(IntEnum):
    """Who started a run (for counters, the trace task and the dashboard)."""

    MANUAL = 0  # /proc/sys/vm/compact_memory
    DIRECT = 1  # __alloc_pages_direct_compact
    KCOMPACTD = 2  # kcompactd_do_work
    PROACTIVE = 3  # proactive_compact_node


TRIGGER_NAMES = ("manual", "direct", "kcompactd", "proactive")

#: isolate_migrate_t
ISOLATE_ABORT, ISOLATE_NONE, ISOLATE_SUCCESS = 0, 1, 2


def target_free_limit(order: int) -> int:
    """`suitable_migration_target()` (6.9+): a pageblock whose first page heads a free block of this
    order or more is no migration target (breaking it up would undo compaction): the request's
    order, or pageblock_order for a run without one (manual, proactive, kcompactd at order -1)."""
    return order if order > 0 else PAGEBLOCK_ORDER


@dataclass(slots=True)
class CompactControl:
    """Models `struct compact_control`: one run's parameters, cursors and isolated lists."""

    zone: Zone
    order: int  # -1: whole zone, as via /proc/sys/vm/compact_memory
    mode: MigrateMode
    trigger: Trigger
    migratetype: int = int(MigrateType.MOVABLE)
    highest_zoneidx: int = 0
    direct_compaction: bool = False
    whole_zone: bool = False
    ignore_skip_hint: bool = False
    ignore_block_suitable: bool = False
    proactive_compaction: bool = False
    migrate_pfn: int = 0
    free_pfn: int = 0
    nr_migratepages: int = 0
    nr_freepages: int = 0
    #: pfns isolated for migration (a typed array: the scanner adds slices of its typed arrays)
    migratepages: array[int] = field(default_factory=lambda: array("q"))
    freepages: list[list[int]] = field(default_factory=lambda: [[] for _ in range(NR_PAGE_ORDERS)])
    total_migrate_scanned: int = 0
    total_free_scanned: int = 0
    nr_migrated: int = 0
    nr_failed: int = 0
    contended: bool = False
    fast_search_fail: int = 0
    #: `cc->finish_pageblock` (6.2+): this turn isolates the rest of the pageblock, past
    #: COMPACT_CLUSTER_MAX (see `CompactionRun.step`)
    finish_pageblock: bool = False
    #: `compact_zone()`'s local ``last_migrated_pfn``: the start of the pageblock the last batch was
    #: isolated from, or 0 (none; the kernel's own sentinel, which is also pageblock 0's start)
    last_migrated_pfn: int = 0
    # migrated-from pages (kind FREE) not yet given back to the buddy allocator, all in one pageblock:
    # see `simcore.compaction.migrate.flush_sources`
    pending_free: array[int] = field(default_factory=lambda: array("q"))
    # order-0 moves whose page array writes wait: made in bulk by flush_sources. The destinations
    # are runs of pages: moved_len[i] pages from moved_dst[i] on, for the next moved_src pages
    # (typed arrays: slices of the scanners' typed arrays join them without making Python ints)
    moved_src: array[int] = field(default_factory=lambda: array("q"))
    moved_dst: array[int] = field(default_factory=lambda: array("q"))
    moved_len: array[int] = field(default_factory=lambda: array("q"))
    defer_frees: bool = False

    @property
    def sync(self) -> bool:
        return self.mode != MigrateMode.ASYNC

    def scanners_met(self, old_rule: bool) -> bool:
        """`compact_scanners_met()`: same pageblock (modern) or free_pfn <= migrate_pfn (2.6.35)."""
        if old_rule:
            return self.free_pfn <= self.migrate_pfn
        return (self.free_pfn >> 9) <= (self.migrate_pfn >> 9)
