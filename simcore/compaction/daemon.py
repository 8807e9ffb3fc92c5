"""kcompactd and proactive compaction (Linux 4.6+ and 5.9+): background runs, a budget per tick.

`Kcompactd.wakeup()` models `wakeup_kcompactd()` (called when kswapd is woken for a high order, and
on a boosted watermark); the work (`kcompactd_do_work()`) then runs as incremental sync-light runs,
zone by zone, a few loop turns per tick so the dashboard sees the scanners move. Every 500 ms of
simulated time, `proactive_compact_node()` runs when the node's fragmentation score is above the
high mark (proactiveness 20 -> 90), compacting until it drops to the low mark (80); when a round
does not lower the score, the next check waits 64 times longer.
"""

from __future__ import annotations

from simcore.compaction.context import Compactor
from simcore.compaction.control import CompactControl, CompactResult, MigrateMode, Trigger
from simcore.compaction.defer import (
    COMPACT_MAX_DEFER_SHIFT,
    compaction_defer_reset,
    compaction_deferred,
    defer_compaction,
)
from simcore.compaction.events import (
    MmCompactionKcompactdSleep,
    MmCompactionKcompactdWake,
    MmCompactionWakeupKcompactd,
)
from simcore.compaction.run import CompactionRun
from simcore.compaction.suitable import (
    compaction_suitable,
    fragmentation_score_node,
    fragmentation_score_wmark,
)
from simcore.tasks import KCOMPACTD0, KSWAPD0
from simcore.zone import Zone

HPAGE_FRAG_CHECK_INTERVAL_MSEC = 500


class Kcompactd:
    def __init__(self, c: Compactor, steps_per_tick: int, tick_ms: int, proactive: bool) -> None:
        self.c = c
        self.steps_per_tick = steps_per_tick
        self.default_timeout = max(1, HPAGE_FRAG_CHECK_INTERVAL_MSEC // tick_ms)
        self.timeout = self.default_timeout
        self.timer = self.timeout
        self.proactive = proactive and not c.old
        self.max_order = 0
        self.highest_zoneidx = c.node.zones[-1].idx
        self.woken = False
        self.pending_order = 0
        self.queue: list[CompactControl] = []
        self.run: CompactionRun | None = None
        self.last_run: CompactionRun | None = None
        self.work_order = 0
        self.proactive_prev_score = -1
        self.working: Trigger | None = None

    # ------------------------------------------------------------------ wake
    def kswapd_woken(self, order: int, highest_zoneidx: int) -> None:
        """kswapd was woken for `order`: once it balances the node it wakes kcompactd (next tick)."""
        if order > self.pending_order:
            self.pending_order = order
            self.highest_zoneidx = highest_zoneidx

    def wakeup(self, order: int, highest_zoneidx: int) -> None:
        """Models `wakeup_kcompactd()`: only for order > 0 and when some zone is worth compacting."""
        if order <= 0 or self.c.old:
            return
        node = self.c.node
        if self.max_order < order:
            self.max_order = order
        self.highest_zoneidx = min(self.highest_zoneidx, highest_zoneidx)
        if self.woken or self.working is not None:
            return
        if not self._node_suitable():
            return
        node.emit(MmCompactionWakeupKcompactd(node.tick, node.nid, order, highest_zoneidx))
        self.woken = True

    def _node_suitable(self) -> bool:
        """`kcompactd_node_suitable()`: a zone where compaction_suitable() says CONTINUE."""
        c = self.c
        for z in c.node.zones:
            if z.idx > self.highest_zoneidx:
                continue
            if (
                compaction_suitable(
                    c.node, z, self.max_order, self.highest_zoneidx, c.settings.extfrag_threshold, c.old
                )
                == CompactResult.CONTINUE
            ):
                return True
        return False

    # ------------------------------------------------------------------ work
    def _start_work(self) -> None:
        """The start of `kcompactd_do_work()`: trace, count, queue the zones."""
        node = self.c.node
        self.woken = False
        self.work_order = self.max_order
        node.emit(MmCompactionKcompactdWake(node.tick, node.nid, self.work_order, self.highest_zoneidx))
        node.vm_events["compact_daemon_wake"] += 1
        self.queue = [
            CompactControl(
                zone=z,
                order=self.work_order,
                mode=MigrateMode.SYNC_LIGHT,
                trigger=Trigger.KCOMPACTD,
                highest_zoneidx=self.highest_zoneidx,
            )
            for z in node.zones
            if z.idx <= self.highest_zoneidx
        ]

    def _start_proactive(self) -> None:
        """`proactive_compact_node()`: a sync-light whole-zone run per zone until the low mark."""
        self.proactive_prev_score = fragmentation_score_node(self.c.node)
        self.queue = [
            CompactControl(
                zone=z,
                order=-1,
                mode=MigrateMode.SYNC_LIGHT,
                trigger=Trigger.PROACTIVE,
                whole_zone=True,
                ignore_skip_hint=True,
                proactive_compaction=True,
            )
            for z in self.c.node.zones
        ]

    def _next_run(self) -> bool:
        """Start the next queued zone's run. False when the queue is empty."""
        c = self.c
        node = c.node
        while self.queue:
            cc = self.queue.pop(0)
            if cc.trigger == Trigger.KCOMPACTD and compaction_deferred(node, cc.zone, cc.order):
                continue
            run = CompactionRun(c, cc)
            if run.begin() != CompactResult.CONTINUE:
                continue
            self.run = run
            return True
        return False

    def _end_run(self, run: CompactionRun) -> None:
        node = self.c.node
        cc = run.cc
        if cc.trigger == Trigger.KCOMPACTD:
            if run.result == CompactResult.SUCCESS:
                compaction_defer_reset(node, cc.zone, cc.order, False)
            elif run.result in (CompactResult.PARTIAL_SKIPPED, CompactResult.COMPLETE):
                defer_compaction(node, cc.zone, cc.order)
        ev = node.vm_events
        ev["compact_daemon_migrate_scanned"] += cc.total_migrate_scanned
        ev["compact_daemon_free_scanned"] += cc.total_free_scanned
        self.last_run = run
        self.run = None

    def _work_done(self, trigger: Trigger) -> None:
        node = self.c.node
        if trigger == Trigger.KCOMPACTD:
            if self.max_order <= self.work_order:
                self.max_order = 0
            self.highest_zoneidx = node.zones[-1].idx
        else:
            score = fragmentation_score_node(node)
            self.timeout = (
                self.default_timeout << COMPACT_MAX_DEFER_SHIFT
                if score >= self.proactive_prev_score
                else self.default_timeout
            )
            self.timer = self.timeout
        node.emit(MmCompactionKcompactdSleep(node.tick, node.nid))

    def should_proactive_compact(self) -> bool:
        """`should_proactive_compact_node()`: score above the high mark (proactiveness > 0)."""
        c = self.c
        if not self.proactive or not c.settings.proactiveness:
            return False
        return fragmentation_score_node(c.node) > fragmentation_score_wmark(c.settings.proactiveness, False)

    def on_tick(self) -> None:
        node = self.c.node
        if self.pending_order:
            order, self.pending_order = self.pending_order, 0
            with node.running(KSWAPD0):  # kswapd wakes kcompactd before it sleeps
                self.wakeup(order, self.highest_zoneidx)
        with node.running(KCOMPACTD0):
            self._work()

    def _work(self) -> None:
        """`kcompactd()`'s loop for one tick: start work or proactive compaction, then a budget of turns."""
        if self.working is None:
            if self.woken:
                self._start_work()
                self.working = Trigger.KCOMPACTD
            elif self.proactive:
                self.timer -= 1
                if self.timer > 0:
                    return
                self.timer = self.timeout
                if not self.should_proactive_compact():
                    return
                self._start_proactive()
                self.working = Trigger.PROACTIVE
            else:
                return
        budget = self.steps_per_tick
        while budget > 0:
            if self.run is None and not self._next_run():
                self._work_done(self.working)
                self.working = None
                return
            run = self.run
            assert run is not None
            before = run.steps
            run.advance(budget)
            budget -= max(run.steps - before, 1)
            if run.done:
                self._end_run(run)

    def zones_running(self) -> list[Zone]:
        return [self.run.cc.zone] if self.run is not None else []
