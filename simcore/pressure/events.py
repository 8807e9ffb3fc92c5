"""Events of the pressure subsystem. Kernel tracepoint names where one exists (include/trace/events/
vmscan.h, oom.h), zonescope's own snake_case names otherwise (listed in docs/fidelity.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from simcore.events import Event


@dataclass(slots=True)
class KswapdWake(Event):
    """vmscan.h `mm_vmscan_kswapd_wake`: kswapd starts a balance_pgdat() run."""

    name: ClassVar[str] = "mm_vmscan_kswapd_wake"
    nid: int
    zid: int
    order: int


@dataclass(slots=True)
class KswapdSleep(Event):
    """vmscan.h `mm_vmscan_kswapd_sleep`: every zone is above its high watermark again."""

    name: ClassVar[str] = "mm_vmscan_kswapd_sleep"
    nid: int


@dataclass(slots=True)
class DirectReclaimBegin(Event):
    """vmscan.h `mm_vmscan_direct_reclaim_begin`."""

    name: ClassVar[str] = "mm_vmscan_direct_reclaim_begin"
    order: int
    gfp_flags: str


@dataclass(slots=True)
class DirectReclaimEnd(Event):
    """vmscan.h `mm_vmscan_direct_reclaim_end`."""

    name: ClassVar[str] = "mm_vmscan_direct_reclaim_end"
    nr_reclaimed: int


@dataclass(slots=True)
class MarkVictim(Event):
    """oom.h `mark_victim`: the OOM killer chose this task (the fields of the 6.x tracepoint)."""

    name: ClassVar[str] = "mark_victim"
    pid: int
    comm: str
    total_vm: int
    anon_rss: int
    file_rss: int
    shmem_rss: int
    uid: int
    pgtables: int
    oom_score_adj: int
    points: int


@dataclass(slots=True)
class WakeReaper(Event):
    """oom.h `wake_reaper`: the victim is queued for the OOM reaper (it runs after the delay)."""

    name: ClassVar[str] = "wake_reaper"
    pid: int


@dataclass(slots=True)
class FinishTaskReaping(Event):
    """oom.h `finish_task_reaping`: the victim's memory has been released."""

    name: ClassVar[str] = "finish_task_reaping"
    pid: int
    pages: int


@dataclass(slots=True)
class OomScoreAdjUpdate(Event):
    """oom.h `oom_score_adj_update`."""

    name: ClassVar[str] = "oom_score_adj_update"
    pid: int
    comm: str
    oom_score_adj: int


@dataclass(slots=True)
class OomNotify(Event):
    """A registered OOM notifier freed memory, so nothing was killed (no kernel tracepoint)."""

    name: ClassVar[str] = "oom_notify"
    freed: int
    remaining: int


@dataclass(slots=True)
class OomFail(Event):
    """out_of_memory() found nothing it may kill (every task exempt) (no kernel tracepoint)."""

    name: ClassVar[str] = "oom_no_victim"
    order: int


@dataclass(slots=True)
class VmEnoughMemoryFail(Event):
    """`__vm_enough_memory()` (overcommit) or the lowmem LSM refused a commit with ENOMEM."""

    name: ClassVar[str] = "vm_enough_memory_fail"
    pid: int
    comm: str
    pages: int
    reason: str
    free_pages: int


@dataclass(slots=True)
class PressureNotify(Event):
    """A notification delivered to one process: mechanism, level and why (zonescope's own event)."""

    name: ClassVar[str] = "pressure_notify"
    mechanism: str
    level: str
    pid: int
    comm: str
    reason: str


@dataclass(slots=True)
class MemThreshold(Event):
    """One of the two thresholds ("about_to_swap", "about_to_oom") was crossed downwards."""

    name: ClassVar[str] = "mem_threshold"
    level: str
    available: int
    threshold: int


@dataclass(slots=True)
class Sigdanger(Event):
    """AIX: free paging space fell below npswarn (SIGDANGER to all) or npskill (SIGKILL to one)."""

    name: ClassVar[str] = "sigdanger"
    level: str  # "npswarn" or "npskill"
    free_paging_space: int
    threshold: int


@dataclass(slots=True)
class LowmemState(Event):
    """Nokia lowmem: the low or high watermark state changed (what sysfs_notify reported)."""

    name: ClassVar[str] = "lowmem_state"
    level: str  # "low" or "high"
    state: int
    free: int


@dataclass(slots=True)
class MemNotifyWake(Event):
    """/dev/mem_notify: `memory_pressure_notify()` woke `woken` of `nr_watchers` pollers."""

    name: ClassVar[str] = "mem_notify"
    zone: str
    nr_watchers: int
    woken: int


@dataclass(slots=True)
class VmpressureEvent(Event):
    """memcg vmpressure: a 512-page window closed at this level (no kernel tracepoint)."""

    name: ClassVar[str] = "vmpressure"
    level: str
    pressure: int
    scanned: int
    reclaimed: int


@dataclass(slots=True)
class PsiTrigger(Event):
    """A /proc/pressure/memory trigger fired (userspace sees POLLPRI; no kernel tracepoint)."""

    name: ClassVar[str] = "psi_trigger"
    pid: int
    kind: str
    stall_us: int
    window_us: int
    growth_us: int


@dataclass(slots=True)
class TaskReaction(Event):
    """A process acted on a notification (zonescope's own event)."""

    name: ClassVar[str] = "task_reaction"
    pid: int
    comm: str
    on: str
    action: str
    pages: int


@dataclass(slots=True)
class TaskStart(Event):
    name: ClassVar[str] = "task_start"
    pid: int
    comm: str


@dataclass(slots=True)
class TaskExit(Event):
    """A process exited: `reason` is exit, restart, oom_kill, sigkill or ENOMEM."""

    name: ClassVar[str] = "task_exit"
    pid: int
    comm: str
    reason: str
    pages: int


@dataclass(slots=True)
class Madvise(Event):
    """madvise(MADV_FREE / MADV_DONTNEED) over `pages` pages (no kernel tracepoint)."""

    name: ClassVar[str] = "madvise"
    pid: int
    advice: str
    pages: int
