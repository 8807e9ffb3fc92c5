"""The OOM killer: `oom_badness()`, victim selection, the OOM reaper, and the OOM notifier chain.

`out_of_memory()` first calls the registered notifiers (`register_oom_notifier()`; modelled as a
balloon driver that gives back `notifier_batch` pages per call, as virtio_balloon's notifier did):
if they freed anything, nothing is killed. While an earlier victim still awaits the reaper, no new
victim is chosen (`oom_evaluate_task()` aborts). Otherwise the task with the highest badness is
marked and killed; it stops allocating at once and its memory is released when the OOM reaper runs
`reaper_delay_ms` later (OOM_REAPER_DELAY, 2 s).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from simcore.constants import PageKind
from simcore.owners import KERNEL_PID
from simcore.page_alloc import AllocContext
from simcore.pressure.context import PressureContext
from simcore.pressure.events import FinishTaskReaping, MarkVictim, OomFail, OomNotify, TaskExit, WakeReaper
from simcore.pressure.processes import TaskTable
from simcore.tasks import OOM_REAPER

OOM_SCORE_ADJ_MIN = -1000
OOM_SCORE_ADJ_MAX = 1000


def oom_badness(rss: int, swapents: int, pgtables: int, oom_score_adj: int, totalpages: int) -> int | None:
    """Models `oom_badness()`: rss + swap entries + page-table pages + adj * (totalpages / 1000).

    None for an exempt task (oom_score_adj -1000: the kernel returns LONG_MIN). As in the kernel
    since 4.19 the adjustment is `adj *= totalpages / 1000` (integer division first).
    """
    if oom_score_adj == OOM_SCORE_ADJ_MIN:
        return None
    points = rss + swapents + pgtables
    return points + oom_score_adj * (totalpages // 1000)


@dataclass(slots=True)
class Victim:
    pid: int
    comm: str
    reap_tick: int


class OomKiller:
    def __init__(self, hub: PressureContext, tasks: TaskTable) -> None:
        self.hub = hub
        self.tasks = tasks
        self.node = hub.node
        self.spec = hub.spec.oom
        self.victims: list[Victim] = []
        self.balloon_sid = -1
        self.notifier_freed = 0
        self.kills: list[dict[str, Any]] = []  # the OomKill fields of each kill (as JSON)
        if self.spec.notifier_pages:
            node = self.node
            st = node.stream(KERNEL_PID, "virtio_balloon", PageKind.KERNEL)
            self.balloon_sid = st.sid
            for _ in range(self.spec.notifier_pages):
                if node.alloc_pages(0, PageKind.KERNEL, st.sid) < 0:
                    break
                node.vm_events["balloon_inflate"] += 1  # balloon_page_enqueue_one()

    def totalpages(self) -> int:
        return self.node.managed_pages + self.hub.swap.total

    def badness(self, pid: int) -> int | None:
        """`oom_badness()` of a process, from what it owns."""
        node = self.node
        proc = node.procs[pid]
        rss = pgtables = 0
        for st in node.streams:
            if st.owner != pid:
                continue
            if st.kind == PageKind.PAGETABLE:
                pgtables += st.nr_pages
            elif st.kind != PageKind.PAGECACHE or st.name == "p.file":
                rss += st.nr_pages
        task = self.tasks.by_pid.get(pid)
        swapents = self.tasks.swap_pages(task) if task is not None else 0
        return oom_badness(rss, swapents, pgtables, proc.oom_score_adj, self.totalpages())

    def candidates(self) -> list[int]:
        """The simulated processes that may be killed (the workload generator's owners model
        background activity and are never chosen; see docs/fidelity.md)."""
        return [t.pid for t in self.tasks.live()]

    def select_bad_process(self) -> tuple[int, int] | None:
        """Models `select_bad_process()`: the highest badness wins; a later task wins a tie."""
        chosen: tuple[int, int] | None = None
        for pid in sorted(self.candidates()):
            points = self.badness(pid)
            if points is None:
                continue
            if chosen is None or points >= chosen[1]:
                chosen = (pid, points)
        return chosen

    def out_of_memory(self, ac: AllocContext) -> bool:
        """Models `out_of_memory()`: notifiers, then wait for a pending victim, then kill."""
        node = self.node
        if self.balloon_sid >= 0:
            st = node.streams[self.balloon_sid]
            freed = 0
            while st.pfns and freed < self.spec.notifier_batch:
                freed += node.free_alloc(st.pfns[-1])
            node.vm_events["balloon_deflate"] += freed  # balloon_page_list_dequeue(), a page each
            if freed:
                self.notifier_freed += freed
                self.hub.emit(OomNotify(node.tick, freed, st.nr_pages), notable=True)
                return True
        if not self.spec.enabled:
            return False
        if self.victims:
            return True  # an earlier victim has not released its memory yet: wait for it
        chosen = self.select_bad_process()
        if chosen is None:
            node.emit(OomFail(node.tick, ac.order))
            return False
        self.kill(*chosen)
        return True

    def kill(self, pid: int, points: int) -> None:
        """`oom_kill_process()` + `mark_oom_victim()` + `queue_oom_reaper()`."""
        node = self.node
        hub = self.hub
        proc = node.procs[pid]
        task = self.tasks.by_pid[pid]
        anon = file = pgtables = 0
        for st in node.streams:
            if st.owner == pid:
                if st.kind == PageKind.PAGETABLE:
                    pgtables += st.nr_pages
                elif st.kind == PageKind.PAGECACHE:
                    file += st.nr_pages
                else:
                    anon += st.nr_pages
        total_vm = task.committed + self.tasks.pages(task, "file")
        node.vm_events["oom_kill"] += 1
        hub.emit(
            MarkVictim(
                node.tick,
                pid,
                proc.comm,
                total_vm * 4,
                anon * 4,
                file * 4,
                0,
                0,
                pgtables * 4,
                proc.oom_score_adj,
                points,
            ),
            notable=True,
        )
        self.kills.append(
            {
                "tick": node.tick,
                "pid": pid,
                "comm": proc.comm,
                "points": points,
                "oom_score_adj": proc.oom_score_adj,
                "rss_pages": anon + file,
            }
        )
        proc.alive = False
        task.state = "dying"
        self.tasks.changed()
        delay = hub.ticks(self.spec.reaper_delay_ms)
        self.victims.append(Victim(pid, proc.comm, node.tick + delay))
        node.emit(WakeReaper(node.tick, pid))
        if delay == 0:
            self.reap_tick()

    def reap_tick(self) -> None:
        """The OOM reaper (`oom_reap_task()`): release victims whose delay has passed."""
        if not self.victims:
            return
        node = self.node
        hub = self.hub
        due = [v for v in self.victims if v.reap_tick <= node.tick]
        if not due:
            return
        self.victims = [v for v in self.victims if v.reap_tick > node.tick]
        with node.running(OOM_REAPER):
            for v in due:
                task = self.tasks.by_pid[v.pid]
                freed = self.tasks.release(task)
                task.state = "dead"
                task.exit_reason = "oom_kill"
                node.emit(FinishTaskReaping(node.tick, v.pid, freed))
                hub.emit(TaskExit(node.tick, v.pid, v.comm, "oom_kill", freed), notable=True)
