"""The optional `pressure` object of the `metrics` message, and kernel-style text for OOM events.

`pressure_part(sim, events)` summarises the pressure subsystem (simcore.pressure) at the current
tick for the dashboard's "Memory pressure" panel: each process (the newest of each name) with its
rss, swap, oom_score_adj, `oom_badness()` points and state; the pid the OOM killer would choose now;
the notification mechanisms' levels (the two thresholds, SIGDANGER, lowmem, /dev/mem_notify,
vmpressure, PSI); and /proc/meminfo-style totals (MemFree, MemAvailable, CommitLimit, Committed_AS,
swap), and the hub's chart samples thinned to MAX_HISTORY points. Page counts are pages; the object
stays under 3 KB (at most MAX_PROCESSES processes, MAX_KILLS kills, MAX_HISTORY samples).
It returns {} when the scenario has no `[pressure]` enabled, so the field is simply absent.

Some levels are events, not state (the last vmpressure window, the last /dev/mem_notify wake-up):
`events` are the events published since the last call, and the newest of each kind is remembered
per simulation in a weak map, so a rebuilt simulation (reset, seek back) starts afresh; one restored
from a keyframe (app/keyframes.py) starts from what was remembered at the keyframe's tick.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from simcore.events import Event
from simcore.pressure.events import MarkVictim, OomFail, PressureNotify, VmEnoughMemoryFail
from simcore.pressure.install import Pressure, find
from simcore.pressure.meminfo import si_mem_available
from simcore.pressure.notify.psi import load_str
from simcore.pressure.processes import Task

if TYPE_CHECKING:
    from simcore.simulation import Simulation

MAX_PROCESSES: Final = 16
#: the chart's history is the hub's samples thinned to at most this many points
MAX_HISTORY: Final = 48
HISTORY_SERIES: Final = ("tick", "free", "available", "committed_as", "commit_limit", "swap_used")
MAX_KILLS: Final = 5
#: events whose newest occurrence is a "level now" the panel shows
LAST_KINDS: Final = ("vmpressure", "mem_notify", "psi_trigger")
#: the chart marks the newest MAX_MARKS of these notification events
MARK_KINDS: Final = ("mem_threshold", "sigdanger", "lowmem_state", "psi_trigger", "oom_notify")
MAX_MARKS: Final = 8


@dataclass(slots=True)
class _Memory:
    """What one simulation's published events told so far (the hub's own log stops at its cap)."""

    levels: dict[str, dict[str, Any]] = field(default_factory=dict)
    notified: dict[int, dict[str, Any]] = field(default_factory=dict)
    marks: list[list[Any]] = field(default_factory=list)


_memory: weakref.WeakKeyDictionary[Pressure, _Memory] = weakref.WeakKeyDictionary()


# --------------------------------------------------------------------------------- event text
def oom_kill_text(ev: MarkVictim) -> str:
    """The line `__oom_kill_process()` prints (mm/oom_kill.c), from the mark_victim fields (kB)."""
    return (f"Out of memory: Killed process {ev.pid} ({ev.comm}) total-vm:{ev.total_vm}kB, "
            f"anon-rss:{ev.anon_rss}kB, file-rss:{ev.file_rss}kB, shmem-rss:{ev.shmem_rss}kB, "
            f"UID:{ev.uid} pgtables:{ev.pgtables}kB oom_score_adj:{ev.oom_score_adj}")


def pressure_event_text(ev: Event) -> str | None:
    """Kernel-style text for the pressure events the kernel logs itself, None for the others (they
    keep their tracepoint text)."""
    if isinstance(ev, MarkVictim):
        return oom_kill_text(ev)
    if isinstance(ev, OomFail):
        return "Out of memory and no killable processes..."
    if isinstance(ev, VmEnoughMemoryFail):
        return f"{ev.comm}[{ev.pid}]: ENOMEM for {ev.pages} pages: {ev.reason} (free {ev.free_pages} pages)"
    if isinstance(ev, PressureNotify):
        return f"{ev.mechanism} {ev.level} -> {ev.comm}[{ev.pid}]: {ev.reason}"
    return None


# ------------------------------------------------------------------------------- processes
def _state(t: Task) -> str:
    """alive, waiting (not started yet), killed (OOM victim: dying or reaped), restarting, exited."""
    if t.state == "running":
        return "alive"
    if t.state == "waiting":
        return "restarting" if t.generation else "waiting"
    if t.state == "dying" or t.exit_reason == "oom_kill":
        return "killed"
    if t.restart_at >= 0:
        return "restarting"
    return "killed" if t.exit_reason == "sigkill" else "exited"


def _mark(ev: Event) -> list[Any] | None:
    """[tick, label] of a notification event for the chart, None for the others."""
    d = ev.fields()
    if ev.name == "mem_threshold" or ev.name == "sigdanger":
        return [ev.tick, str(d["level"])]
    if ev.name == "lowmem_state":
        return [ev.tick, f"lowmem_{d['level']}"] if d["state"] else None
    if ev.name == "psi_trigger":
        return [ev.tick, f"psi {d['kind']}"]
    if ev.name == "oom_notify":
        return [ev.tick, "oom notifier"]
    return None


def _remember(hub: Pressure, events: list[Event]) -> _Memory:
    mem = _memory.get(hub)
    if mem is None:
        mem = _memory[hub] = _Memory()
    return _note(mem, events)


def _note(mem: _Memory, events: list[Event]) -> _Memory:
    for ev in events:
        if ev.name in LAST_KINDS:
            d = ev.fields()
            d.pop("zone", None)
            mem.levels[ev.name] = {"tick": ev.tick, **d}
        if isinstance(ev, PressureNotify):
            mem.notified[ev.pid] = {"tick": ev.tick, "mechanism": ev.mechanism, "level": ev.level}
        if ev.name in MARK_KINDS:
            m = _mark(ev)
            if m is not None:
                mem.marks.append(m)
    del mem.marks[:-MAX_MARKS]
    return mem


def memory_at(sim: Simulation, events: list[Event]) -> _Memory | None:
    """A copy of what the panel remembers of `sim` once `events` (not published yet) are too: kept
    with a keyframe, so that a simulation restored from it (`adopt_memory`) shows the same levels
    and marks as a replay to that tick would."""
    hub = find(sim)
    if hub is None:
        return None
    mem = _memory.get(hub)
    copied = _Memory() if mem is None else _Memory(
        {k: dict(v) for k, v in mem.levels.items()}, {k: dict(v) for k, v in mem.notified.items()},
        [list(m) for m in mem.marks])
    return _note(copied, events)


def adopt_memory(sim: Simulation, mem: _Memory | None) -> None:
    """`sim` was restored from a keyframe that kept `mem` (see `memory_at`)."""
    hub = find(sim)
    if hub is not None and mem is not None:
        _memory[hub] = _Memory({k: dict(v) for k, v in mem.levels.items()},
                               {k: dict(v) for k, v in mem.notified.items()}, [list(m) for m in mem.marks])


def _from_log(hub: Pressure, pids: set[int]) -> tuple[dict[int, dict[str, Any]], list[list[Any]]]:
    """The newest notification delivered to each pid and the newest chart marks, from the hub's log
    of notable events (complete until the log reaches its cap)."""
    notified: dict[int, dict[str, Any]] = {}
    marks: list[list[Any]] = []
    for ev in reversed(hub.log):
        if isinstance(ev, PressureNotify) and ev.pid in pids and ev.pid not in notified:
            notified[ev.pid] = {"tick": ev.tick, "mechanism": ev.mechanism, "level": ev.level}
        elif len(marks) < MAX_MARKS and ev.name in MARK_KINDS:
            m = _mark(ev)
            if m is not None:
                marks.append(m)
        if len(notified) == len(pids) and len(marks) == MAX_MARKS:
            break
    return notified, marks[::-1]


def _newer(a: dict[str, Any] | None, b: dict[str, Any] | None) -> dict[str, Any] | None:
    if a is None or (b is not None and b["tick"] > a["tick"]):
        return b
    return a


def shown_tasks(hub: Pressure) -> list[Task]:
    """The newest task of each name, in order of first appearance (at most MAX_PROCESSES)."""
    newest: dict[str, Task] = {}
    for t in hub.tasks.tasks:
        newest[t.comm] = t  # dicts keep the first insertion's position
    return list(newest.values())[:MAX_PROCESSES]


def processes(hub: Pressure, shown: list[Task], last: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    tt = hub.tasks
    out = []
    for t in shown:
        live = t.state == "running"
        out.append({
            "pid": t.pid, "comm": t.comm,
            "rss": tt.anon_rss(t) + tt.pages(t, "file"),
            "swap": tt.swap_pages(t),
            "oom_score_adj": t.proc.oom_score_adj,
            "points": hub.oom.badness(t.pid) if live else None,
            "state": _state(t),
            "restarts": t.generation,
            "last": last.get(t.pid),
        })
    return out


# ---------------------------------------------------------------------------------- levels
def _level(name: str, value: int, threshold: int) -> dict[str, Any]:
    return {"name": name, "value": value, "threshold": threshold, "below": value < threshold}


def levels(hub: Pressure, last: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Each enabled mechanism's state now (None when the scenario did not enable it)."""
    node = hub.node
    available = si_mem_available(node)
    out: dict[str, Any] = {}
    th = hub.thresholds
    out["thresholds"] = None if th is None else [
        _level("about_to_swap", available, th.swap_threshold),
        _level("about_to_oom", available + hub.swap.free, th.oom_threshold),
    ]
    sd = hub.sigdanger
    out["sigdanger"] = None if sd is None or hub.swap.total == 0 else {
        "free": hub.swap.free, "npswarn": sd.npswarn, "npskill": sd.npskill}
    lm = hub.lowmem
    out["lowmem"] = None if lm is None else {
        "active": lm.active, "low": lm.state["low"], "high": lm.state["high"], "denied": lm.denied,
        "estimate": lm.free_estimate() if lm.active else None, "deny_pages": lm.spec.deny_pages,
        "notify_low_pages": lm.spec.notify_low_pages, "notify_high_pages": lm.spec.notify_high_pages}
    out["mem_notify"] = None if hub.mem_notify is None else last.get("mem_notify", {"tick": None})
    out["vmpressure"] = None if hub.vmpressure is None else last.get("vmpressure", {"tick": None})
    psi = hub.psi
    out["psi"] = {
        k: {"avg10": float(load_str(psi.avg[k][0])), "avg60": float(load_str(psi.avg[k][1])),
            "avg300": float(load_str(psi.avg[k][2])), "total": psi.total[k]}
        for k in ("some", "full")}
    if "psi_trigger" in last:
        out["psi"]["trigger"] = last["psi_trigger"]
    return out


def history(hub: Pressure) -> dict[str, list[int]]:
    """The hub's chart samples (every `sample_every` ticks) thinned to at most MAX_HISTORY points,
    evenly from the first, always ending with the newest; a late viewer and a seek see it whole.
    `swap_used` only when the scenario has swap."""
    ticks = hub.series["tick"]
    n = len(ticks)
    stride = -(-n // MAX_HISTORY) if n else 1
    idx = list(range(0, n, stride))
    if n and idx[-1] != n - 1:
        idx[-1] = n - 1
    keys = HISTORY_SERIES if hub.swap.total else HISTORY_SERIES[:-1]
    return {k: [hub.series[k][i] for i in idx] for k in keys}


# ----------------------------------------------------------------------------------- whole
def pressure_view(hub: Pressure, events: list[Event]) -> dict[str, Any]:
    node = hub.node
    commit = hub.commit
    chosen = hub.oom.select_bad_process() if hub.oom.spec.enabled else None
    refused = [free for _, free, source in hub.refusals if source == "overcommit"]
    mem = _remember(hub, events)
    shown = shown_tasks(hub)
    logged, marks = _from_log(hub, {t.pid for t in shown})
    last = {t.pid: n for t in shown if (n := _newer(logged.get(t.pid), mem.notified.get(t.pid))) is not None}
    if mem.marks and (not marks or mem.marks[-1][0] > marks[-1][0]):
        marks = mem.marks
    return {
        "processes": processes(hub, shown, last),
        "oom_pick": chosen[0] if chosen is not None else None,
        "reaping": [v.pid for v in hub.oom.victims],
        "kills": len(hub.oom.kills),
        "last_kills": hub.oom.kills[-MAX_KILLS:],
        "levels": levels(hub, mem.levels),
        "marks": list(marks),
        "mem": {
            "free": node.free_pages, "available": si_mem_available(node), "managed": node.managed_pages,
            "commit_limit": commit.commit_limit, "committed_as": commit.committed,
            "swap_used": hub.swap.used, "swap_total": hub.swap.total,
        },
        "overcommit": {"mode": commit.mode, "refused": len(refused),
                       # memory that sat free while strict accounting refused a commit
                       "wasted_pages": max(refused, default=0)},
        "kswapd": {"awake": hub.reclaim.kswapd_awake, "priority": hub.reclaim.kswapd_priority},
        "history": history(hub),
    }


def pressure_part(sim: Simulation, events: list[Event] | None = None) -> dict[str, Any]:
    """{"pressure": {...}} to merge into a metrics body, or {} when the scenario has no pressure."""
    hub = find(sim)
    if hub is None:
        return {}
    return {"pressure": pressure_view(hub, events or [])}
