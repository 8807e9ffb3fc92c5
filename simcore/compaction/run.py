"""One compaction run of one zone as an incremental state machine (`compact_zone()`).

`CompactionRun.begin()` does what `compact_zone()` does before its loop (suitability, restart after
full deferral, cursor set-up, mm_compaction_begin); each `step()` is one turn of the loop; `finish()`
releases unused free pages, counts, and emits mm_compaction_end. `run()` drives it to the end.
"""

from __future__ import annotations

from simcore.compaction.context import Compactor
from simcore.compaction.control import ISOLATE_NONE, CompactControl, CompactResult, MigrateMode
from simcore.compaction.defer import compaction_restarting
from simcore.compaction.events import MmCompactionBegin, MmCompactionEnd
from simcore.compaction.free_scan import release_freepages
from simcore.compaction.migrate import ENOMEM, flush_sources, migrate_pages
from simcore.compaction.migrate_scan import isolate_migratepages
from simcore.compaction.suitable import compact_finished, compaction_suitable, reset_isolation_suitable
from simcore.constants import PAGEBLOCK_NR_PAGES, PAGEBLOCK_ORDER

# enum members read in every step, bound once (a class attribute of an Enum is a slow lookup)
_CONTINUE = CompactResult.CONTINUE
_SYNC = MigrateMode.SYNC
#: COMPACTION_HPAGE_ORDER: the THP order, whose failed batches also forget last_migrated_pfn
COMPACTION_HPAGE_ORDER = PAGEBLOCK_ORDER
_MASK = PAGEBLOCK_NR_PAGES - 1


class CompactionRun:
    def __init__(self, c: Compactor, cc: CompactControl) -> None:
        self.c = c
        self.cc = cc
        self.result = CompactResult.CONTINUE
        self.started = False
        self.done = False
        self.steps = 0
        self.in_burst = False
        # modern runs other than proactive ones look at the free lists only at pageblock boundaries
        cc.defer_frees = not c.old and not cc.proactive_compaction

    @property
    def active(self) -> bool:
        return self.started and not self.done

    def begin(self) -> CompactResult:
        """The part of `compact_zone()` before its loop. CONTINUE means the run has started."""
        c = self.c
        cc = self.cc
        zone = cc.zone
        node = c.node
        if cc.order >= 0 and not cc.proactive_compaction:
            ret = compaction_suitable(
                node, zone, cc.order, cc.highest_zoneidx, c.settings.extfrag_threshold, c.old
            )
            if ret != CompactResult.CONTINUE:
                self.result = ret
                self.done = True
                return ret
        if not c.old and compaction_restarting(zone, cc.order):
            reset_isolation_suitable(node, zone)
        last = zone.last_pageblock_start()
        if cc.whole_zone or c.old:
            cc.migrate_pfn = zone.start_pfn
            cc.free_pfn = last
        else:
            cc.migrate_pfn = zone.compact_cached_migrate_pfn[1 if cc.sync else 0]
            cc.free_pfn = zone.compact_cached_free_pfn
            if cc.free_pfn < zone.start_pfn or cc.free_pfn > last:
                cc.free_pfn = last & ~(PAGEBLOCK_NR_PAGES - 1)
                zone.compact_cached_free_pfn = cc.free_pfn
            if cc.migrate_pfn < zone.start_pfn or cc.migrate_pfn >= zone.end_pfn:
                cc.migrate_pfn = zone.start_pfn
                zone.compact_cached_migrate_pfn[0] = zone.compact_cached_migrate_pfn[1] = zone.start_pfn
            if cc.migrate_pfn <= zone.start_pfn:
                cc.whole_zone = True
        c.trail_migrate.clear()
        c.trail_free.clear()
        self.started = True
        node.emit(
            MmCompactionBegin(node.tick, zone.start_pfn, cc.migrate_pfn, cc.free_pfn, zone.end_pfn, cc.sync)
        )
        return CompactResult.CONTINUE

    def step(self) -> CompactResult:
        """One turn of `compact_zone()`'s loop. Returns CONTINUE, or the final result (run ended).

        Modern mode follows 6.18: a turn that starts in the pageblock the last batch came from
        (``last_migrated_pfn``) sets ``finish_pageblock`` and isolates the rest of that block in one
        batch, past COMPACT_CLUSTER_MAX; a batch that fails to migrate in async or sync-light mode
        (skip hints honoured) rescans the rest of its pageblock the same way; and for a run with an
        order, ``last_migrated_pfn`` is forgotten once the scanner has left its order-aligned block
        (the check_drain label). So a manual run takes each pageblock as 32 pages, then the rest.
        """
        if self.done:
            return self.result
        c = self.c
        cc = self.cc
        self.steps += 1
        if not self.in_burst:
            c.new_epoch()  # a step on its own: memory may have changed since the last one
        if cc.pending_free and (
            not cc.migrate_pfn & (PAGEBLOCK_NR_PAGES - 1) or cc.migrate_pfn >> 9 != cc.pending_free[0] >> 9
        ):
            flush_sources(c, cc, final=not self.in_burst)
        ret = compact_finished(c, cc)
        if ret != _CONTINUE:
            return self.finish(ret)
        if not c.old:
            cc.finish_pageblock = cc.last_migrated_pfn >> 9 == cc.migrate_pfn >> 9
        while True:  # the `rescan:` label
            if isolate_migratepages(c, cc) == ISOLATE_NONE:
                break
            if not c.old:
                cc.last_migrated_pfn = max(cc.zone.start_pfn, (cc.migrate_pfn - 1) & ~_MASK)
            if cc.pending_free and cc.migratepages and cc.migratepages[0] >> 9 != cc.pending_free[0] >> 9:
                flush_sources(c, cc, final=not self.in_burst)
            err = migrate_pages(c, cc)
            if not self.in_burst:
                flush_sources(c, cc)
            if not err:
                break
            if err == ENOMEM and not cc.scanners_met(c.old):
                return self.finish(CompactResult.CONTENDED)
            if c.old:
                break
            if (
                cc.migrate_pfn & (PAGEBLOCK_NR_PAGES - 1)
                and not cc.ignore_skip_hint
                and not cc.finish_pageblock
                and cc.mode < _SYNC
            ):
                cc.finish_pageblock = True
                if cc.order == COMPACTION_HPAGE_ORDER:
                    cc.last_migrated_pfn = 0
                continue
            break
        # check_drain: the scanner has left the order-aligned block it last migrated from
        if cc.order > 0 and 0 < cc.last_migrated_pfn < cc.migrate_pfn & -(1 << cc.order):
            cc.last_migrated_pfn = 0
        return _CONTINUE

    def _begin_burst(self) -> None:
        self.c.new_epoch()
        self.in_burst = True

    def _end_burst(self) -> None:
        c = self.c
        self.in_burst = False
        flush_sources(c, self.cc)

    def advance(self, n: int) -> CompactResult:
        """Up to n steps in one burst (nothing else touches memory in between)."""
        ret = _CONTINUE
        self._begin_burst()
        for _ in range(n):
            ret = self.step()
            if ret != _CONTINUE:
                break
        self._end_burst()
        return ret

    def run(self) -> CompactResult:
        """Begin (if needed) and step until the run ends; returns the result."""
        if not self.started and not self.done and self.begin() != _CONTINUE:
            return self.result
        self._begin_burst()
        while not self.done:
            self.step()
        self._end_burst()
        return self.result

    def finish(self, ret: CompactResult) -> CompactResult:
        """The end of `compact_zone()`: unused free pages back, counters, mm_compaction_end."""
        c = self.c
        cc = self.cc
        zone = cc.zone
        node = c.node
        flush_sources(c, cc)
        if cc.nr_freepages > 0 or any(cc.freepages):
            highest = release_freepages(c, cc)
            if not c.old and highest >= 0:
                # compact_zone(): the cached free pfn goes only back (up) to the highest released
                block = highest & ~(PAGEBLOCK_NR_PAGES - 1)
                if block > zone.compact_cached_free_pfn:
                    zone.compact_cached_free_pfn = block
        ev = node.vm_events
        if not c.old:
            ev["compact_migrate_scanned"] += cc.total_migrate_scanned
            ev["compact_free_scanned"] += cc.total_free_scanned
        self.result = ret
        self.done = True
        node.emit(
            MmCompactionEnd(
                node.tick, zone.start_pfn, cc.migrate_pfn, cc.free_pfn, zone.end_pfn, cc.sync, int(ret)
            )
        )
        return ret
