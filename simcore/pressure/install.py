"""Wiring of the pressure subsystem into a Simulation: the `Pressure` hub and `install(sim)`.

The hub is the pressure context (simcore/pressure/context.py: the node, the clock, swap, overcommit,
emit and stall accounting) plus the mechanisms it builds on it: the processes, reclaim, the OOM
killer and the enabled notification mechanisms, each handed the others it calls. `install()` fills
the reclaim / kswapd / OOM slots of `sim.node.hooks`, registers the pressure actions, and adds the
hub to the per-tick subsystems; it runs after the workload, in this order: processes (start, exit,
restart, pending frees, growth), kswapd, the OOM reaper, the threshold and SIGDANGER checks, PSI
accounting, and a chart sample every `sample_every` ticks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simcore.constants import PageKind
from simcore.page_alloc import KernelHooks
from simcore.pressure.context import PressureContext
from simcore.pressure.events import OomScoreAdjUpdate
from simcore.pressure.meminfo import si_mem_available
from simcore.pressure.notify.lowmem import Lowmem
from simcore.pressure.notify.mem_notify import MemNotify
from simcore.pressure.notify.psi import Psi
from simcore.pressure.notify.sigdanger import SigdangerNotifier
from simcore.pressure.notify.thresholds import Thresholds
from simcore.pressure.notify.vmpressure import Vmpressure
from simcore.pressure.oom import OomKiller
from simcore.pressure.processes import Task, TaskTable
from simcore.pressure.procfiles import register as register_proc_files
from simcore.pressure.reclaim import Reclaimer
from simcore.pressure.spec import (
    DropCachesAction,
    KillAction,
    LowmemAction,
    LowmemSpec,
    MadviseAction,
    OomScoreAdjAction,
    OvercommitAction,
    PressureSpec,
)
from simcore.scenario import ScenarioError

if TYPE_CHECKING:
    from simcore.host import Host

class Pressure(PressureContext):
    """The pressure subsystem: builds the mechanisms on its context, runs them once per tick after
    the workload, and handles the pressure actions."""

    def __init__(self, sim: Host, spec: PressureSpec) -> None:
        super().__init__(sim, spec)
        self.series: dict[str, list[int]] = {
            k: []
            for k in (
                "tick",
                "free",
                "available",
                "committed_as",
                "commit_limit",
                "swap_used",
                "psi_some_avg10_x100",
                "lazyfree",
                "refused",
            )
        }
        n = spec.notify
        self.tasks = tasks = TaskTable(self)
        self.thresholds = Thresholds(self, tasks) if n.thresholds.enabled else None
        self.sigdanger = SigdangerNotifier(self, tasks) if n.sigdanger.enabled else None
        self._lowmem: Lowmem | None = None
        self.lowmem = Lowmem(self, tasks) if n.lowmem.enabled else None
        self.mem_notify = MemNotify(self, tasks) if n.mem_notify.enabled else None
        self.vmpressure = Vmpressure(self, tasks) if n.vmpressure.enabled else None
        self.psi = Psi(self, tasks)
        self.reclaim = Reclaimer(self, tasks, self.mem_notify, self.vmpressure)
        self.oom = OomKiller(self, tasks)
        self._triggered: set[int] = set()

    @property
    def lowmem(self) -> Lowmem | None:
        """The lowmem LSM, once enabled (by the scenario or a `lowmem` action)."""
        return self._lowmem

    @lowmem.setter
    def lowmem(self, lm: Lowmem | None) -> None:
        self._lowmem = lm
        self.lsm = lm  # register its vm_enough_memory hook

    # ------------------------------------------------------------------ tick
    def on_tick(self) -> None:
        tasks = self.tasks
        tasks.on_tick()
        for t in tasks.live():
            if t.spec.psi_trigger and t.pid not in self._triggered:
                self._triggered.add(t.pid)
                self.psi.add_trigger(t, t.spec.psi_trigger)
        self.reclaim.kswapd_tick()
        self.reclaim.expire_workload_swap()
        self.oom.reap_tick()
        if self.thresholds is not None:
            self.thresholds.on_tick()
        if self.sigdanger is not None:
            self.sigdanger.on_tick()
        active = [t.pid for t in tasks.live()]
        self.psi.on_tick(self.stalls, active)
        self.stalls = {}
        if self.node.tick % self.spec.sample_every == 0:
            self.sample()

    def sample(self) -> None:
        s = self.series
        node = self.node
        s["tick"].append(node.tick)
        s["free"].append(node.free_pages)
        s["available"].append(si_mem_available(node))
        s["committed_as"].append(self.commit.committed)
        s["commit_limit"].append(self.commit.commit_limit)
        s["swap_used"].append(self.swap.used)
        s["psi_some_avg10_x100"].append(self.psi.avg["some"][0] * 100 >> 11)  # percent x 100
        s["lazyfree"].append(node.nr_kind_pages[PageKind.LAZYFREE])
        s["refused"].append(self.commit.refused + (self.lowmem.denied if self.lowmem else 0))

    # --------------------------------------------------------------- actions
    def _task(self, comm: str) -> Task:
        t = self.tasks.by_comm(comm)
        if t is None or t.state != "running":
            raise ScenarioError(f"no running process named {comm!r}")
        return t

    def do_drop_caches(self, a: DropCachesAction) -> str:
        node = self.node
        freed = {"pagecache": 0, "slab": 0}
        for st in node.streams:
            drop = (a.value & 1 and st.kind == PageKind.PAGECACHE) or (
                a.value & 2 and st.kind == PageKind.SLAB_RECLAIMABLE
            )
            if drop:
                key = "pagecache" if st.kind == PageKind.PAGECACHE else "slab"
                while st.pfns:
                    freed[key] += node.free_alloc(st.pfns[-1])
        if a.value & 1:
            node.vm_events["drop_pagecache"] += 1
        if a.value & 2:
            node.vm_events["drop_slab"] += 1
        return f"dropped {freed['pagecache']} page cache and {freed['slab']} slab pages"

    def do_oom_score_adj(self, a: OomScoreAdjAction) -> str:
        t = self._task(a.comm)
        t.proc.oom_score_adj = a.value
        self.emit(OomScoreAdjUpdate(self.node.tick, t.pid, t.comm, a.value), notable=True)
        return f"{a.comm} (pid {t.pid}) oom_score_adj = {a.value}"

    def do_kill(self, a: KillAction) -> str:
        t = self._task(a.comm)
        freed = self.tasks.exit(t, "sigkill")
        return f"killed {a.comm} (pid {t.pid}): {freed} pages freed"

    def do_madvise(self, a: MadviseAction) -> str:
        t = self._task(a.comm)
        pages = self.tasks.pages(t, "cache") * a.percent // 100
        with self.node.running(self.node.task_of(t.pid)):  # the process calls madvise() itself
            done = self.tasks.give_back(t, "cache", pages, a.advice)
        t.hold_until["cache"] = self.node.tick + a.hold_ticks
        return f"{a.comm}: MADV_{a.advice.upper()} over {done} pages"

    def do_lowmem(self, a: LowmemAction) -> str:
        spec = LowmemSpec(
            enabled=True,
            notify_low_pages=a.notify_low_pages,
            notify_high_pages=a.notify_high_pages,
            deny_pages=a.deny_pages,
            nr_decay_pages=a.nr_decay_pages,
        )
        if self.lowmem is None:
            self.lowmem = Lowmem(self, self.tasks)
        self.lowmem.configure(spec)
        state = "active" if self.lowmem.active else "inactive (deny, low and high must all be set)"
        return (
            f"lowmem {state}: deny {a.deny_pages}, low {a.notify_low_pages}, high {a.notify_high_pages} pages"
        )

    def do_overcommit(self, a: OvercommitAction) -> str:
        self.commit.mode = a.mode
        if a.ratio is not None:
            self.commit.ratio = a.ratio
        return f"vm.overcommit_memory = {a.mode}, CommitLimit {self.commit.commit_limit} pages"


def find(sim: Host) -> Pressure | None:
    """The simulation's pressure hub, if the scenario enabled it."""
    for sub in sim.subsystems:
        if isinstance(sub, Pressure):
            return sub
    return None


def install(sim: Host) -> None:
    """Installer for simcore.subsystems.INSTALLERS: only when the scenario's `[pressure]` is enabled."""
    spec = sim.scenario.pressure
    if not spec.enabled:
        return
    hub = Pressure(sim, spec)
    hooks = sim.node.hooks
    if isinstance(hooks, KernelHooks):
        hooks.kswapd = hub.reclaim.wakeup_kswapd
        hooks.reclaim = hub.reclaim.direct_reclaim
        hooks.oom = hub.oom.out_of_memory
        if hooks.boosted is None:
            hooks.boosted = hub.reclaim.wake_boosted
    handlers: dict[str, Any] = {
        "drop_caches": hub.do_drop_caches,
        "oom_score_adj": hub.do_oom_score_adj,
        "kill": hub.do_kill,
        "madvise": hub.do_madvise,
        "overcommit": hub.do_overcommit,
        "lowmem": hub.do_lowmem,
    }
    sim.handlers.update(handlers)
    sim.subsystems.append(hub)
    register_proc_files(sim, hub)
