"""Simulated processes: what they allocate, how they grow, and how they react to notifications.

A `Task` owns six streams ("pools"): anonymous working memory (`anon`), an application cache it can
give back (`cache`), memory its allocator or JVM holds as garbage until a GC returns it (`slack`),
MADV_FREE pages (`lazyfree`), mapped page cache (`file`) and its page tables (`pgtable`, one page
per 512 mapped pages). Each tick a running task touches up to `rate` new pages, pool by pool, until
every pool reaches its target; anonymous growth is commit-charged in chunks (brk/mmap), which is
where overcommit and the lowmem LSM can refuse it with ENOMEM. A write to a lazily freed page
cancels the free: the cache pool takes MADV_FREE pages back before allocating new ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from simcore.constants import PAGEBLOCK_NR_PAGES, PageKind
from simcore.owners import Process
from simcore.pressure.context import PressureContext
from simcore.pressure.events import (
    Madvise,
    PressureNotify,
    TaskExit,
    TaskReaction,
    TaskStart,
    VmEnoughMemoryFail,
)
from simcore.pressure.madvise import cancel_lazyfree, madv_dontneed, madv_free
from simcore.pressure.spec import ProcessSpec, ReactionSpec

#: pool -> page kind
POOL_KIND = {
    "anon": PageKind.ANON,
    "cache": PageKind.ANON,
    "slack": PageKind.ANON,
    "lazyfree": PageKind.LAZYFREE,
    "file": PageKind.PAGECACHE,
    "pgtable": PageKind.PAGETABLE,
}
ANON_POOLS = ("anon", "cache", "slack", "lazyfree")
#: pages charged per brk/mmap extension (a 256 KiB arena step)
COMMIT_CHUNK = 64
#: a task refused at start (ENOMEM) tries again after this many ticks
START_RETRY_TICKS = 10


@dataclass(slots=True)
class PendingFree:
    pool: str
    per_tick: int
    remaining: int
    advice: str


@dataclass(slots=True)
class Task:
    spec: ProcessSpec
    pid: int
    proc: Process
    sid: dict[str, int]
    state: str = "waiting"  # waiting, running, dying (OOM victim awaiting the reaper), dead
    committed: int = 0  # pages charged to Committed_AS, virt_pages included
    swapped: dict[str, int] = field(default_factory=dict)
    pending: list[PendingFree] = field(default_factory=list)
    cooldown: dict[str, int] = field(default_factory=dict)
    hold_until: dict[str, int] = field(default_factory=dict)  # a pool given back is not regrown before
    next_start: int = 0
    restart_at: int = -1
    enomem: int = 0
    alloc_failures: int = 0
    exit_reason: str = ""
    generation: int = 0

    @property
    def comm(self) -> str:
        return self.spec.comm

    @property
    def alive(self) -> bool:
        return self.state == "running"


class TaskTable:
    """Every simulated process, in creation order (pids ascending)."""

    def __init__(self, hub: PressureContext) -> None:
        self.hub = hub
        self.tasks: list[Task] = []
        self.by_pid: dict[int, Task] = {}
        self.sid_pool: dict[int, tuple[Task, str]] = {}
        self._subscribers: dict[str, list[Task]] = {}
        for spec in hub.spec.processes:
            self.spawn(spec, 0)

    def spawn(self, spec: ProcessSpec, generation: int) -> Task:
        """A new task (a new pid, also for a restart), waiting for its start tick."""
        node = self.hub.node
        pid = max(node.procs) + 1
        proc = Process(pid, spec.comm, oom_score_adj=spec.oom_score_adj, start_tick=node.tick)
        node.procs[pid] = proc
        node.pid_by_comm[spec.comm] = pid
        sid = {pool: node.stream(pid, "p." + pool, kind).sid for pool, kind in POOL_KIND.items()}
        task = Task(spec, pid, proc, sid, swapped=dict.fromkeys(POOL_KIND, 0), generation=generation)
        task.next_start = spec.start_tick if generation == 0 else node.tick
        self.tasks.append(task)
        self.by_pid[pid] = task
        for pool, s in sid.items():
            self.sid_pool[s] = (task, pool)
        return task

    def live(self) -> list[Task]:
        return [t for t in self.tasks if t.state == "running"]

    def changed(self) -> None:
        """A task started, exited or was killed: the subscriber lists are stale."""
        self._subscribers.clear()

    def subscribers(self, name: str) -> list[Task]:
        """Running tasks with a reaction to notification `name`, in pid order."""
        subs = self._subscribers.get(name)
        if subs is None:
            subs = [t for t in self.live() if any(r.on == name for r in t.spec.reactions)]
            self._subscribers[name] = subs
        return subs

    def deliver(
        self, mechanism: str, level: str, name: str, reason: str, tasks: list[Task] | None = None
    ) -> None:
        """Deliver notification `name` to `tasks` (default: every live task with a reaction to it)."""
        hub = self.hub
        if tasks is None:
            tasks = self.subscribers(name)
        node = hub.node
        for t in tasks:
            hub.delivered[name] = hub.delivered.get(name, 0) + 1
            hub.emit(PressureNotify(node.tick, mechanism, level, t.pid, t.comm, reason), notable=True)
            with node.running(node.task_of(t.pid)):  # the process handles it (signal, poll wakeup)
                self.notify(t, name)

    def vm_enough_memory(self, t: Task, pages: int) -> bool:
        """`security_vm_enough_memory_mm()`: the registered LSM while active, else
        `__vm_enough_memory()`."""
        hub = self.hub
        lsm = hub.lsm
        if lsm is not None and lsm.active:
            # the LSM replaces __vm_enough_memory(): it charges Committed_AS itself
            reason, source = lsm.vm_enough_memory(t.spec.privileged, t.proc.oom_score_adj), "lowmem"
            if not reason:
                hub.commit.committed += pages
        else:
            reason = hub.commit.vm_enough_memory(pages, t.spec.privileged, t.committed + pages)
            source = "overcommit"
        if not reason:
            return True
        node = hub.node
        free = node.free_pages
        hub.refusals.append((node.tick, free, source))
        hub.emit(VmEnoughMemoryFail(node.tick, t.pid, t.comm, pages, reason, free), notable=True)
        return False

    def by_comm(self, comm: str) -> Task | None:
        """The newest task named `comm`."""
        for t in reversed(self.tasks):
            if t.comm == comm:
                return t
        return None

    # ------------------------------------------------------------ accounting
    def pages(self, t: Task, pool: str) -> int:
        return self.hub.node.streams[t.sid[pool]].nr_pages

    def anon_rss(self, t: Task) -> int:
        return sum(self.pages(t, p) for p in ANON_POOLS)

    def used_anon(self, t: Task) -> int:
        """Anonymous pages the task has touched: resident plus swapped out."""
        return self.anon_rss(t) + sum(t.swapped[p] for p in ANON_POOLS)

    def swap_pages(self, t: Task) -> int:
        return sum(t.swapped.values())

    # ------------------------------------------------------------- the tick
    def on_tick(self) -> None:
        node = self.hub.node
        tick = node.tick
        for t in list(self.tasks):
            if t.state == "dead" and t.restart_at >= 0 and tick >= t.restart_at:
                t.restart_at = -1
                self.spawn(t.spec, t.generation + 1)
                continue
            with node.running(node.task_of(t.pid)):  # what the process does, it does itself
                self.run(t, tick)

    def run(self, t: Task, tick: int) -> None:
        """Task `t`'s tick: start when due, exit when due, give back what it promised, grow."""
        if t.state == "waiting" and tick >= t.next_start:
            self.start(t)
        if t.state != "running":
            return
        if t.spec.exit_tick is not None and t.generation == 0 and tick >= t.spec.exit_tick:
            self.exit(t, "exit")
            return
        self.run_pending(t)
        self.grow(t)

    def start(self, t: Task) -> None:
        hub = self.hub
        if t.spec.virt_pages and not self.vm_enough_memory(t, t.spec.virt_pages):
            t.next_start = hub.node.tick + START_RETRY_TICKS
            return
        t.committed += t.spec.virt_pages
        t.state = "running"
        t.proc.alive = True
        self.changed()
        hub.emit(TaskStart(hub.node.tick, t.pid, t.comm), notable=True)

    def grow(self, t: Task) -> None:
        """Touch up to `rate` new pages, pool by pool, toward each pool's target."""
        hub = self.hub
        node = hub.node
        spec = t.spec
        budget = spec.rate
        for pool, target in (
            ("anon", spec.anon_pages),
            ("file", spec.file_pages),
            ("cache", spec.cache_pages),
            ("slack", spec.heap_slack_pages),
        ):
            if node.tick < t.hold_until.get(pool, 0):
                continue
            have = self.pages(t, pool) + t.swapped[pool]
            need = min(target - have, budget)
            if need <= 0:
                continue
            if pool == "cache":
                back = cancel_lazyfree(node, t.sid["lazyfree"], t.sid["cache"], PageKind.ANON, need)
                need -= back
                budget -= back
            kind = POOL_KIND[pool]
            sid = t.sid[pool]
            anon = pool != "file"
            for _ in range(need):
                if anon and self.used_anon(t) >= t.committed - t.spec.virt_pages:
                    if not self.vm_enough_memory(t, COMMIT_CHUNK):
                        t.enomem += 1
                        return
                    t.committed += COMMIT_CHUNK
                if not self.ensure_pgtables(t):
                    return
                if node.alloc_pages(0, kind, sid) < 0:
                    t.alloc_failures += 1
                    hub.stall(t.pid, hub.tick_us)
                    return
                if t.state != "running":  # chosen by the OOM killer during that allocation
                    return
                budget -= 1

    def ensure_pgtables(self, t: Task) -> bool:
        mapped = t.committed + self.pages(t, "file") + t.swapped["file"]
        want = mapped // PAGEBLOCK_NR_PAGES + 1
        node = self.hub.node
        while self.pages(t, "pgtable") < want:
            if node.alloc_pages(0, PageKind.PAGETABLE, t.sid["pgtable"]) < 0:
                t.alloc_failures += 1
                self.hub.stall(t.pid, self.hub.tick_us)
                return False
            if t.state != "running":
                return False
        return True

    def run_pending(self, t: Task) -> None:
        keep = []
        for p in t.pending:
            n = min(p.per_tick, p.remaining)
            done = self.give_back(t, p.pool, n, p.advice)
            p.remaining -= n
            if p.remaining > 0 and done:
                keep.append(p)
        t.pending = keep

    def give_back(self, t: Task, pool: str, pages: int, advice: str) -> int:
        node = self.hub.node
        if advice == "free":
            done = madv_free(node, t.sid[pool], t.sid["lazyfree"], PageKind.LAZYFREE, pages)
        else:
            done = madv_dontneed(node, t.sid[pool], pages)
        if done:
            name = "MADV_FREE" if advice == "free" else "MADV_DONTNEED"
            self.hub.emit(Madvise(node.tick, t.pid, name, done))
        return done

    # ------------------------------------------------------------ reactions
    def notify(self, t: Task, name: str) -> None:
        """Notification `name` reached task `t`: run its reactions (each at most once per cooldown)."""
        tick = self.hub.node.tick
        for r in t.spec.reactions:
            if r.on != name or t.state != "running":
                continue
            if tick < t.cooldown.get(r.on + r.do, -1):
                continue
            t.cooldown[r.on + r.do] = tick + r.cooldown_ticks
            self.react(t, r)

    def react(self, t: Task, r: ReactionSpec) -> None:
        hub = self.hub
        pages = 0
        if r.do in ("free_cache", "gc"):
            pool = "cache" if r.do == "free_cache" else "slack"
            pages = self.pages(t, pool) * r.percent // 100
            t.hold_until[pool] = hub.node.tick + r.cooldown_ticks
            if pages:
                per_tick = -(-pages // r.within_ticks)
                t.pending.append(PendingFree(pool, per_tick, pages, r.madvise))
        hub.emit(TaskReaction(hub.node.tick, t.pid, t.comm, r.on, r.do, pages), notable=True)
        if r.do == "exit":
            self.exit(t, "exit")
        elif r.do == "restart":
            self.exit(t, "restart")
            t.restart_at = hub.node.tick + t.spec.restart_delay_ticks

    # ------------------------------------------------------------------ exit
    def release(self, t: Task, keep_file: bool = True) -> int:
        """exit_mmap(): free the task's memory; mapped page cache stays behind as unmapped cache."""
        hub = self.hub
        node = hub.node
        freed = 0
        for pool in POOL_KIND:
            if pool == "file" and keep_file:
                continue
            pfns = node.streams[t.sid[pool]].pfns
            while pfns:
                freed += node.free_alloc(pfns[-1])
        hub.swap.used -= self.swap_pages(t)
        t.swapped = dict.fromkeys(POOL_KIND, 0)
        hub.commit.unacct(t.committed)
        t.committed = 0
        t.pending = []
        return freed

    def exit(self, t: Task, reason: str) -> int:
        freed = self.release(t)
        t.state = "dead"
        t.proc.alive = False
        self.changed()
        t.exit_reason = reason
        self.hub.emit(TaskExit(self.hub.node.tick, t.pid, t.comm, reason, freed), notable=True)
        return freed
