"""What starts compaction: manual (/proc/sys/vm/compact_memory), direct (the allocation slow path).

kcompactd and proactive compaction live in `simcore.compaction.daemon`.
"""

from __future__ import annotations

from simcore.compaction.context import Compactor
from simcore.compaction.control import CompactControl, CompactResult, MigrateMode, Trigger
from simcore.compaction.defer import compaction_defer_reset, compaction_deferred, defer_compaction
from simcore.compaction.events import MmCompactionTryToCompactPages
from simcore.compaction.run import CompactionRun
from simcore.constants import CLASS_INFO, PAGE_ALLOC_COSTLY_ORDER
from simcore.page_alloc import COMPACT_PRIO_ASYNC, COMPACT_PRIO_SYNC_FULL, AllocContext
from simcore.watermarks import ALLOC_WMARK_MIN
from simcore.zone import Zone

MIN_COMPACT_PRIORITY = COMPACT_PRIO_SYNC_FULL
MAX_COMPACT_RETRIES = 16


def manual_control(zone: Zone) -> CompactControl:
    """`compact_node()`'s compact_control: order -1, MIGRATE_SYNC, whole zone, skip hints ignored."""
    return CompactControl(
        zone=zone,
        order=-1,
        mode=MigrateMode.SYNC,
        trigger=Trigger.MANUAL,
        whole_zone=True,
        ignore_skip_hint=True,
    )


def compact_zone_order(c: Compactor, zone: Zone, ac: AllocContext, prio: int) -> CompactionRun:
    """Models `compact_zone_order()`: a direct compaction run of one zone, to its end."""
    cc = CompactControl(
        zone=zone,
        order=ac.order,
        mode=MigrateMode.ASYNC if prio == COMPACT_PRIO_ASYNC else MigrateMode.SYNC_LIGHT,
        trigger=Trigger.DIRECT,
        migratetype=ac.migratetype,
        highest_zoneidx=ac.highest_zoneidx,
        direct_compaction=True,
        whole_zone=prio == MIN_COMPACT_PRIORITY,
        ignore_skip_hint=prio == MIN_COMPACT_PRIORITY,
        ignore_block_suitable=prio == MIN_COMPACT_PRIORITY,
    )
    run = CompactionRun(c, cc)
    run.run()
    return run


def try_to_compact_pages(
    c: Compactor, ac: AllocContext, prio: int
) -> tuple[CompactResult, CompactionRun | None]:
    """Models `try_to_compact_pages()`: compact each zone of the zonelist until one reports success.

    Deferred zones are passed by (unless at the highest priority); a sync run that ends without
    success defers the zone; success resets the deferral of the order (tentatively).
    """
    node = c.node
    if not c.old:
        node.emit(MmCompactionTryToCompactPages(node.tick, ac.order, CLASS_INFO[ac.kind].gfp, prio))
    rc = CompactResult.SKIPPED
    last: CompactionRun | None = None
    for zone in ac.zonelist:
        if not c.old and prio > MIN_COMPACT_PRIORITY and compaction_deferred(node, zone, ac.order):
            rc = max(rc, CompactResult.DEFERRED)
            continue
        run = compact_zone_order(c, zone, ac, prio)
        last = run
        status = run.result
        rc = max(rc, status)
        if status == CompactResult.SUCCESS:
            if not c.old:
                compaction_defer_reset(node, zone, ac.order, False)
            break
        if (
            not c.old
            and prio != COMPACT_PRIO_ASYNC
            and status in (CompactResult.COMPLETE, CompactResult.PARTIAL_SKIPPED)
        ):
            defer_compaction(node, zone, ac.order)
    return rc, last


class DirectCompaction:
    """The `hooks.compact` and `hooks.compact_retry` slots: `__alloc_pages_direct_compact()` and
    `should_compact_retry()`."""

    def __init__(self, c: Compactor, first_async: bool) -> None:
        self.c = c
        self.first_async = first_async
        self.last_result = CompactResult.SKIPPED
        self.last_run: CompactionRun | None = None

    def compact(self, ac: AllocContext, prio: int) -> int:
        c = self.c
        node = c.node
        if ac.order == 0:
            return -1
        if c.old and ac.order <= PAGE_ALLOC_COSTLY_ORDER:
            # 2.6.35 left the cheap orders to reclaim
            return -1
        if prio == COMPACT_PRIO_ASYNC and not self.first_async:
            prio = COMPACT_PRIO_ASYNC - 1
        rc, run = try_to_compact_pages(c, ac, prio)
        self.last_result = rc
        if run is not None:
            self.last_run = run
        if rc == CompactResult.SKIPPED:
            return -1
        ev = node.vm_events
        ev["compact_stall"] += 1
        pfn = node.get_page_from_freelist(ac, ALLOC_WMARK_MIN)
        if pfn >= 0:
            if not c.old:
                compaction_defer_reset(node, node.zone_of(pfn), ac.order, True)
            ev["compact_success"] += 1
            return pfn
        ev["compact_fail"] += 1
        return -1

    def retry(self, ac: AllocContext, retries: int) -> bool:
        """Models the shape of `should_compact_retry()`: retry while compaction reports progress.

        Costly orders get a quarter of MAX_COMPACT_RETRIES; failed or skipped compaction stops.
        """
        if self.c.old or self.last_result != CompactResult.SUCCESS:
            return False
        max_retries = MAX_COMPACT_RETRIES // 4 if ac.order > PAGE_ALLOC_COSTLY_ORDER else MAX_COMPACT_RETRIES
        return retries < max_retries
