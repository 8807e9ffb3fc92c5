"""The pressure subsystem summarised: the process table, overcommit's cost, and the `PressureFrame`.

`process_rows()` and `commit_summary()` are the one place the process table (rss, swap, badness,
state of each task) and the overcommit figures (refusals, wasted pages) are computed: the frame the
dashboard's panel formats (`pressure_frame()`, carried on `Frame.pressure`) and the report of
`zonescope run --json` (simcore/pressure/report.py) both read them. Everything here only reads the
hub; building a frame changes no simulation state.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from simcore.pressure.frame import (
    MAX_HISTORY,
    MAX_KILLS,
    MAX_PROCESSES,
    CommitSummary,
    Heard,
    KswapdState,
    LastNotification,
    LowmemLevel,
    Meminfo,
    OomKill,
    PressureFrame,
    PressureHistory,
    PressureLevels,
    ProcessRow,
    PsiAverages,
    PsiLevel,
    SigdangerLevel,
    ThresholdLevel,
)
from simcore.pressure.install import Pressure, find
from simcore.pressure.meminfo import si_mem_available
from simcore.pressure.notify.psi import load_str
from simcore.pressure.processes import Task

if TYPE_CHECKING:
    from simcore.host import Host


# ------------------------------------------------------------------------------ the table
def process_rows(hub: Pressure, tasks: Iterable[Task]) -> tuple[ProcessRow, ...]:
    """The process table's rows for `tasks`."""
    tt = hub.tasks
    notified = hub.latest.notified
    rows = []
    for t in tasks:
        last = notified.get(t.pid)
        rows.append(ProcessRow(
            pid=t.pid, comm=t.comm, state=t.state, generation=t.generation,
            oom_score_adj=t.proc.oom_score_adj, anon_rss=tt.anon_rss(t), cache=tt.pages(t, "cache"),
            lazyfree=tt.pages(t, "lazyfree"), file=tt.pages(t, "file"), pgtables=tt.pages(t, "pgtable"),
            swap=tt.swap_pages(t), committed=t.committed, enomem=t.enomem,
            alloc_failures=t.alloc_failures, exit_reason=t.exit_reason,
            badness=hub.oom.badness(t.pid) if t.state == "running" else None,
            restart_pending=t.restart_at >= 0,
            last_notified=None if last is None else LastNotification(last.tick, last.mechanism, last.level),
        ))
    return tuple(rows)


def shown_tasks(hub: Pressure) -> list[Task]:
    """The newest task of each name, in order of first appearance (at most MAX_PROCESSES)."""
    newest: dict[str, Task] = {}
    for t in hub.tasks.tasks:
        newest[t.comm] = t  # dicts keep the first insertion's position
    return list(newest.values())[:MAX_PROCESSES]


def commit_summary(hub: Pressure) -> CommitSummary:
    """Overcommit now; `wasted_pages` is the most memory that sat free while strict accounting
    refused a commit."""
    commit = hub.commit
    refused = [(tick, free) for tick, free, source in hub.refusals if source == "overcommit"]
    first = refused[0] if refused else None
    return CommitSummary(
        mode=commit.mode, commit_limit=commit.commit_limit, committed_as=commit.committed,
        refused=len(refused), first_refusal_tick=first[0] if first else None,
        free_pages_at_first_refusal=first[1] if first else None,
        wasted_pages=max((free for _, free in refused), default=0),
    )


# ----------------------------------------------------------------------------- the levels
def _psi_averages(avg: list[int], total: int) -> PsiAverages:
    return PsiAverages(float(load_str(avg[0])), float(load_str(avg[1])), float(load_str(avg[2])), total)


def levels(hub: Pressure) -> PressureLevels:
    """Each enabled mechanism's level now."""
    available = si_mem_available(hub.node)
    th = hub.thresholds
    sd = hub.sigdanger
    lm = hub.lowmem
    latest = hub.latest
    psi = hub.psi
    return PressureLevels(
        thresholds=None if th is None else (
            ThresholdLevel("about_to_swap", available, th.swap_threshold),
            ThresholdLevel("about_to_oom", available + hub.swap.free, th.oom_threshold),
        ),
        sigdanger=None if sd is None or hub.swap.total == 0 else SigdangerLevel(
            hub.swap.free, sd.npswarn, sd.npskill),
        lowmem=None if lm is None else LowmemLevel(
            lm.active, lm.state["low"], lm.state["high"], lm.denied,
            lm.free_estimate() if lm.active else None, lm.spec.deny_pages, lm.spec.notify_low_pages,
            lm.spec.notify_high_pages),
        mem_notify=None if hub.mem_notify is None else Heard(latest.mem_notify),
        vmpressure=None if hub.vmpressure is None else Heard(latest.vmpressure),
        psi=PsiLevel(_psi_averages(psi.avg["some"], psi.total["some"]),
                     _psi_averages(psi.avg["full"], psi.total["full"]), latest.psi_trigger),
    )


def history(hub: Pressure) -> PressureHistory:
    """The hub's chart samples (every `sample_every` ticks) thinned to at most MAX_HISTORY points,
    evenly from the first, always ending with the newest; a late viewer and a seek see it whole."""
    s = hub.series
    n = len(s["tick"])
    stride = -(-n // MAX_HISTORY) if n else 1
    idx = list(range(0, n, stride))
    if n and idx[-1] != n - 1:
        idx[-1] = n - 1

    def pick(key: str) -> tuple[int, ...]:
        return tuple(s[key][i] for i in idx)

    return PressureHistory(pick("tick"), pick("free"), pick("available"), pick("committed_as"),
                           pick("commit_limit"), pick("swap_used") if hub.swap.total else None)


# ------------------------------------------------------------------------------ the frame
def pressure_frame(hub: Pressure) -> PressureFrame:
    node = hub.node
    oom = hub.oom
    chosen = oom.select_bad_process() if oom.spec.enabled else None
    commit = hub.commit
    return PressureFrame(
        processes=process_rows(hub, shown_tasks(hub)),
        oom_pick=chosen[0] if chosen is not None else None,
        reaping=tuple(v.pid for v in oom.victims),
        kills=len(oom.kills),
        last_kills=tuple(OomKill(**k) for k in oom.kills[-MAX_KILLS:]),
        levels=levels(hub),
        marks=tuple(hub.latest.marks),
        mem=Meminfo(node.free_pages, si_mem_available(node), node.managed_pages, commit.commit_limit,
                    commit.committed, hub.swap.used, hub.swap.total),
        overcommit=commit_summary(hub),
        kswapd=KswapdState(hub.reclaim.kswapd_awake, hub.reclaim.kswapd_priority),
        history=history(hub),
    )


def pressure_frame_of(sim: Host) -> PressureFrame | None:
    """The simulation's pressure frame now, None when the scenario has no `[pressure]` enabled."""
    hub = find(sim)
    return None if hub is None else pressure_frame(hub)
