"""Wiring compaction (or lumpy reclaim) into a Simulation: hooks, the compact action, scanners, on_tick.

The scenario's defrag policy (simcore.policies) chooses the slow path's compaction step: direct
compaction (`SlowpathStep.COMPACT`, with kcompactd, woken when kswapd is woken for a high order or on
a boosted watermark, and proactive compaction in modern mode), lumpy reclaim, or nothing. Manual
compaction (the `compact` action, /proc/sys/vm/compact_memory) is available under every policy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from simcore.actions import CompactAction
from simcore.compaction.context import Compactor, CompactSettings
from simcore.compaction.control import MODE_NAMES, RESULT_NAMES, CompactResult
from simcore.compaction.daemon import Kcompactd
from simcore.compaction.lumpy import LumpyReclaim
from simcore.compaction.run import CompactionRun
from simcore.compaction.suitable import reset_isolation_suitable
from simcore.compaction.triggers import DirectCompaction, manual_control
from simcore.constants import PAGEBLOCK_ORDER, Mode
from simcore.frame import ScannerFrame
from simcore.page_alloc import AllocContext, KernelHooks
from simcore.policies import DEFRAG_POLICIES, DefragPolicy, SlowpathStep
from simcore.tasks import SHELL
from simcore.zone import Zone

if TYPE_CHECKING:
    from simcore.host import Host


@dataclass(frozen=True, slots=True)
class ZoneCompaction:
    """How a manual compaction of one zone ended."""

    zone: str
    #: the trace name of its `CompactResult` ("complete", "success", ...)
    result: str
    migrated: int
    failed: int


@dataclass(frozen=True, slots=True)
class ManualCompaction:
    """What `Simulation.compact_memory()` did: a summary line, the worst result, the zones."""

    detail: str
    result: str
    zones: tuple[ZoneCompaction, ...]


class Compaction:
    """The compaction subsystem of one simulation (appended to `sim.subsystems`)."""

    def __init__(self, sim: Host) -> None:
        sc = sim.scenario
        spec = sc.compaction
        self.sim = sim
        self.node = sim.node
        self.spec = spec
        self.c = Compactor(
            sim.node,
            CompactSettings(
                mode=sc.mode,
                migrate_fail_rate=spec.migrate_fail_rate,
                extfrag_threshold=sc.vm.extfrag_threshold,
                proactiveness=sc.vm.compaction_proactiveness,
            ),
            sim.skip_reason,
        )
        self.direct = DirectCompaction(self.c, spec.direct_async)
        self.lumpy = LumpyReclaim(sim.node)
        self.kcompactd = Kcompactd(self.c, spec.daemon_steps_per_tick, sc.tick_ms, proactive=spec.proactive)
        self.kcompactd_enabled = spec.kcompactd and sc.mode == Mode.MODERN
        self.manual_queue: list[Zone] = []
        self.manual: CompactionRun | None = None
        self.last: CompactionRun | None = None
        self.manual_results: list[tuple[str, CompactResult, int, int]] = []
        #: loop turns per tick of the manual run in progress (0: it ran at once, or is stepped)
        self.manual_pace = spec.manual_steps_per_tick

    # --------------------------------------------------------------- settings
    def refresh(self) -> None:
        """Follow live `set` actions (mode, defrag, extfrag_threshold, proactiveness)."""
        sc = self.sim.scenario
        self.c.set_settings(
            CompactSettings(
                mode=sc.mode,
                migrate_fail_rate=self.spec.migrate_fail_rate,
                extfrag_threshold=sc.vm.extfrag_threshold,
                proactiveness=sc.vm.compaction_proactiveness,
            )
        )
        self.kcompactd.proactive = self.spec.proactive and sc.mode == Mode.MODERN
        self.kcompactd_enabled = self.spec.kcompactd and sc.mode == Mode.MODERN

    @property
    def policy(self) -> DefragPolicy:
        """The effective defrag policy (a `set defrag` action changes it)."""
        return DEFRAG_POLICIES[self.sim.scenario.defrag]

    # ------------------------------------------------------------------ hooks
    def hook_compact(self, ac: AllocContext, prio: int) -> int:
        self.refresh()
        step = self.policy.slowpath
        if step is SlowpathStep.COMPACT:
            self.c.new_epoch()
            pfn = self.direct.compact(ac, prio)
            if self.direct.last_run is not None:
                self.last = self.direct.last_run
            return pfn
        if step is SlowpathStep.LUMPY:
            return self.lumpy.compact(ac, prio)
        return -1

    def hook_retry(self, ac: AllocContext, retries: int) -> bool:
        return self.policy.slowpath is SlowpathStep.COMPACT and self.direct.retry(ac, retries)

    def kswapd_woken(self, ac: AllocContext) -> None:
        if ac.order > 0 and self.kcompactd_enabled and self.policy.background:
            self.kcompactd.kswapd_woken(ac.order, ac.highest_zoneidx)

    def boosted(self, zone: Zone) -> None:
        if self.kcompactd_enabled and self.policy.background:
            self.kcompactd.kswapd_woken(PAGEBLOCK_ORDER, self.node.zones[-1].idx)

    # ----------------------------------------------------------------- manual
    def do_compact(self, a: CompactAction) -> str:
        """The `compact` action: /proc/sys/vm/compact_memory (or one zone), or one step of a run."""
        self.refresh()
        zones = [z for z in self.node.zones if a.zone is None or z.name == a.zone]
        if a.step:
            if self.manual is None or self.manual.done:
                self.manual_pace = self.spec.manual_steps_per_tick
                if not self.manual_queue:
                    self.manual_queue = list(zones)
                if not self._start_manual():
                    return "no zone to compact"
            run = self.manual
            assert run is not None
            run.advance(1)
            return self._manual_progress(run)
        self.manual_queue = list(zones)
        self.manual_pace = a.pace or self.spec.manual_steps_per_tick
        if self.manual_pace:
            self._start_manual()
            return "compaction started in " + ", ".join(z.name for z in zones)
        self.manual_results = []
        while self._start_manual():
            assert self.manual is not None
            self.manual.run()
            self._manual_done(self.manual)
        return "; ".join(
            f"{name}: {RESULT_NAMES[r]}, {m} pages migrated, {f} failed"
            for name, r, m, f in self.manual_results
        )

    def complete_manual(self, detail: str) -> ManualCompaction:
        """After a `compact` action: run it to the end if the scenario paces manual compaction
        (`manual_steps_per_tick`), and report it (`detail` is the action's summary when unpaced)."""
        if self.manual is not None:
            self.manual_results = []
            self.finish_manual()
            detail = "; ".join(
                f"{z}: {RESULT_NAMES[r]}, {m} pages migrated, {f} failed"
                for z, r, m, f in self.manual_results
            )
        results = self.manual_results
        overall = max((r for _, r, _, _ in results), default=CompactResult.SKIPPED)
        zones = tuple(ZoneCompaction(z, RESULT_NAMES[r], m, f) for z, r, m, f in results)
        return ManualCompaction(detail, RESULT_NAMES[overall], zones)

    def finish_manual(self) -> None:
        """Run the manual compaction in progress (and the zones queued after it) to the end."""
        while self.manual is not None:
            run = self.manual
            if not run.done:
                run.run()
            self._manual_done(run)
            if not self._start_manual():
                break

    def _start_manual(self) -> bool:
        while self.manual_queue:
            zone = self.manual_queue.pop(0)
            run = CompactionRun(self.c, manual_control(zone))
            if run.begin() == CompactResult.CONTINUE:
                self.manual = run
                self.last = run
                return True
        self.manual = None
        return False

    def _manual_done(self, run: CompactionRun) -> None:
        cc = run.cc
        self.manual_results.append((cc.zone.name, run.result, cc.nr_migrated, cc.nr_failed))

    def _manual_progress(self, run: CompactionRun) -> str:
        cc = run.cc
        if run.done:
            self._manual_done(run)
            return f"{cc.zone.name}: {RESULT_NAMES[run.result]}, {cc.nr_migrated} pages migrated"
        return (
            f"{cc.zone.name}: step {run.steps}, migrate_pfn {cc.migrate_pfn:#x}, free_pfn {cc.free_pfn:#x}, "
            f"{cc.nr_migrated} pages migrated"
        )

    # ---------------------------------------------------------------- on_tick
    def on_tick(self) -> None:
        self.refresh()
        if self.c.blockskip_flush:
            self.flush_skip_bits()
        if self.manual is not None and self.manual_pace:
            with self.node.running(SHELL):  # the writer of compact_memory waits in its write()
                self._manual_tick(self.manual_pace)
        if self.kcompactd_enabled and self.policy.background:
            self.kcompactd.on_tick()
            if self.kcompactd.run is not None:
                self.last = self.kcompactd.run
            elif self.kcompactd.last_run is not None and (self.last is None or self.last.done):
                self.last = self.kcompactd.last_run

    def _manual_tick(self, budget: int) -> None:
        """A paced manual compaction's turns for one tick (the action's pace, or the scenario's
        `manual_steps_per_tick`)."""
        run = self.manual
        while budget > 0 and run is not None:
            before = run.steps
            run.advance(budget)
            budget -= max(run.steps - before, 1)
            if not run.done:
                break
            self._manual_done(run)
            run = self.manual if self._start_manual() else None

    def flush_skip_bits(self) -> None:
        """`reset_isolation_suitable()` as kswapd calls it before sleeping: once a zone whose direct
        compaction scanners met is above its high watermark again, its skip bits are cleared."""
        for z in self.node.zones:
            if z.idx in self.c.blockskip_flush and z.free_pages > z.wmark_high:
                reset_isolation_suitable(self.node, z)
                self.c.blockskip_flush.discard(z.idx)

    # --------------------------------------------------------------- scanners
    def scanners(self) -> tuple[ScannerFrame, ...]:
        out = []
        runs = [r for r in (self.manual, self.kcompactd.run) if r is not None and r.active]
        if not runs and self.last is not None and self.last.started:
            runs = [self.last]
        for run in runs:
            cc = run.cc
            out.append(
                ScannerFrame(
                    cc.zone.name,
                    cc.migrate_pfn,
                    cc.free_pfn,
                    MODE_NAMES[cc.mode],
                    cc.order,
                    run.active,
                    tuple(self.c.trail_migrate),
                    tuple(self.c.trail_free),
                )
            )
        return tuple(out)


class HookChain:
    """The kswapd and boosted-watermark slots: the hook installed before compaction's, then compaction's.

    Bound methods of a small object rather than closures, so that a copied simulation (a keyframe)
    calls its own copies of both hooks."""

    def __init__(
        self,
        comp: Compaction,
        prev_kswapd: Callable[[AllocContext], None] | None,
        prev_boosted: Callable[[Zone], None] | None,
    ) -> None:
        self.comp = comp
        self.prev_kswapd = prev_kswapd
        self.prev_boosted = prev_boosted

    def kswapd(self, ac: AllocContext) -> None:
        if self.prev_kswapd is not None:
            self.prev_kswapd(ac)
        self.comp.kswapd_woken(ac)

    def boosted(self, zone: Zone) -> None:
        if self.prev_boosted is not None:
            self.prev_boosted(zone)
        self.comp.boosted(zone)


def find(sim: Host) -> Compaction | None:
    """The simulation's compaction subsystem (other subsystems may call `kcompactd.wakeup`)."""
    for sub in sim.subsystems:
        if isinstance(sub, Compaction):
            return sub
    return None


def install(sim: Host) -> None:
    """Installer for simcore.subsystems.INSTALLERS."""
    comp = Compaction(sim)
    hooks = sim.node.hooks
    if isinstance(hooks, KernelHooks):
        hooks.compact = comp.hook_compact
        hooks.compact_retry = comp.hook_retry
        chain = HookChain(comp, hooks.kswapd, hooks.boosted)
        hooks.kswapd = chain.kswapd
        hooks.boosted = chain.boosted
    sim.handlers["compact"] = comp.do_compact
    sim.scanners = comp.scanners
    sim.subsystems.append(comp)
