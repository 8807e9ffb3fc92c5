"""The pressure frame: a frozen picture of the pressure subsystem at one tick, for the dashboard.

`simcore.pressure.summary.pressure_frame()` builds a `PressureFrame` from the hub; `Simulation.frame()`
carries it as `Frame.pressure` (None without `[pressure]`), outside `Frame.digest()`, so frame hashes
do not depend on it. It holds what the "Memory pressure" panel shows: the process table (the newest
task of each name), the pid the OOM killer would choose now, the victims awaiting the reaper, the
newest kills, each enabled notification mechanism's level, the chart marks, /proc/meminfo-style
totals, overcommit, kswapd, and the hub's chart samples thinned to MAX_HISTORY points. The levels
that are events rather than state (the newest vmpressure window, /dev/mem_notify wake-up and PSI
trigger, the newest notification of each pid, the marks) are the hub's own record
(`simcore.pressure.context.Latest`), kept as the events are emitted. Page counts are pages.

This module is data only (no simulation code), so `simcore.frame` can name `PressureFrame`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Generic, TypeVar

from simcore.events import Event
from simcore.pressure.events import MemNotifyWake, PsiTrigger, VmpressureEvent

#: the process table shows at most this many tasks (the newest of each name)
MAX_PROCESSES: Final = 16
#: the chart's history is the hub's samples thinned to at most this many points
MAX_HISTORY: Final = 48
#: the newest kills a frame lists
MAX_KILLS: Final = 5
#: the chart marks the newest MAX_MARKS notification events
MAX_MARKS: Final = 8

E = TypeVar("E", bound=Event)


@dataclass(frozen=True, slots=True)
class LastNotification:
    """The newest notification delivered to a task."""

    tick: int
    mechanism: str
    level: str


@dataclass(frozen=True, slots=True)
class ProcessRow:
    """One simulated task: the table both the panel and `zonescope run --json` show."""

    pid: int
    comm: str
    state: str  # the task's own state: waiting, running, dying, dead
    generation: int  # restarts so far
    oom_score_adj: int
    anon_rss: int  # anon, cache, slack and MADV_FREE pages
    cache: int
    lazyfree: int
    file: int
    pgtables: int
    swap: int
    committed: int
    enomem: int
    alloc_failures: int
    exit_reason: str
    badness: int | None  # oom_badness() while running, else None
    restart_pending: bool
    last_notified: LastNotification | None

    @property
    def rss(self) -> int:
        return self.anon_rss + self.file

    @property
    def status(self) -> str:
        """alive, waiting (not started yet), killed (OOM victim: dying or reaped), restarting, exited."""
        if self.state == "running":
            return "alive"
        if self.state == "waiting":
            return "restarting" if self.generation else "waiting"
        if self.state == "dying" or self.exit_reason == "oom_kill":
            return "killed"
        if self.restart_pending:
            return "restarting"
        return "killed" if self.exit_reason == "sigkill" else "exited"


@dataclass(frozen=True, slots=True)
class OomKill:
    """One `oom_kill_process()`: the victim as the OOM killer saw it."""

    tick: int
    pid: int
    comm: str
    points: int
    oom_score_adj: int
    rss_pages: int


@dataclass(frozen=True, slots=True)
class ThresholdLevel:
    name: str  # about_to_swap / about_to_oom
    value: int
    threshold: int

    @property
    def below(self) -> bool:
        return self.value < self.threshold


@dataclass(frozen=True, slots=True)
class SigdangerLevel:
    free: int  # free paging space
    npswarn: int
    npskill: int


@dataclass(frozen=True, slots=True)
class LowmemLevel:
    active: bool
    low: int
    high: int
    denied: int
    estimate: int | None  # the LSM's free estimate while active
    deny_pages: int
    notify_low_pages: int
    notify_high_pages: int


@dataclass(frozen=True, slots=True)
class Heard(Generic[E]):
    """An enabled mechanism whose level is its newest event (None until the first one)."""

    event: E | None


@dataclass(frozen=True, slots=True)
class PsiAverages:
    avg10: float
    avg60: float
    avg300: float
    total: int  # us


@dataclass(frozen=True, slots=True)
class PsiLevel:
    some: PsiAverages
    full: PsiAverages
    trigger: PsiTrigger | None  # the newest trigger event


@dataclass(frozen=True, slots=True)
class PressureLevels:
    """Each notification mechanism's level now; None where the scenario did not enable it."""

    thresholds: tuple[ThresholdLevel, ThresholdLevel] | None
    sigdanger: SigdangerLevel | None  # also None without paging space
    lowmem: LowmemLevel | None
    mem_notify: Heard[MemNotifyWake] | None
    vmpressure: Heard[VmpressureEvent] | None
    psi: PsiLevel


@dataclass(frozen=True, slots=True)
class Mark:
    """A notification event the chart marks at its tick."""

    tick: int
    label: str


@dataclass(frozen=True, slots=True)
class Meminfo:
    free: int
    available: int
    managed: int
    commit_limit: int
    committed_as: int
    swap_used: int
    swap_total: int


@dataclass(frozen=True, slots=True)
class CommitSummary:
    """Overcommit so far: the mode, the totals, and what its refusals cost."""

    mode: int
    commit_limit: int
    committed_as: int
    refused: int  # ENOMEM from __vm_enough_memory() (not from the lowmem LSM)
    first_refusal_tick: int | None
    free_pages_at_first_refusal: int | None
    wasted_pages: int  # the most memory that sat free while a commit was refused


@dataclass(frozen=True, slots=True)
class KswapdState:
    awake: bool
    priority: int


@dataclass(frozen=True, slots=True)
class PressureHistory:
    """The hub's chart samples, thinned; `swap_used` only when the scenario has swap."""

    tick: tuple[int, ...]
    free: tuple[int, ...]
    available: tuple[int, ...]
    committed_as: tuple[int, ...]
    commit_limit: tuple[int, ...]
    swap_used: tuple[int, ...] | None


@dataclass(frozen=True, slots=True)
class PressureFrame:
    processes: tuple[ProcessRow, ...]  # the newest task of each name, at most MAX_PROCESSES
    oom_pick: int | None  # the pid select_bad_process() would choose now
    reaping: tuple[int, ...]  # victims awaiting the OOM reaper
    kills: int
    last_kills: tuple[OomKill, ...]  # the newest MAX_KILLS
    levels: PressureLevels
    marks: tuple[Mark, ...]
    mem: Meminfo
    overcommit: CommitSummary
    kswapd: KswapdState
    history: PressureHistory
