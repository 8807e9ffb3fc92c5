"""The optional `pressure` object of the `metrics` message, and kernel-style text for OOM events.

`pressure_part(frame.pressure)` formats the frame's `PressureFrame` (simcore/pressure/frame.py, built
by the core at every frame) as JSON for the dashboard's "Memory pressure" panel: each process (the
newest of each name) with its rss, swap, oom_score_adj, `oom_badness()` points and state; the pid the
OOM killer would choose now; the notification mechanisms' levels (the two thresholds, SIGDANGER,
lowmem, /dev/mem_notify, vmpressure, PSI); /proc/meminfo-style totals (MemFree, MemAvailable,
CommitLimit, Committed_AS, swap); and the hub's chart samples, thinned. Page counts are pages; the
object stays under 3 KB. It returns {} when the scenario has no `[pressure]` enabled, so the field is
simply absent. Nothing here reads the simulation: the levels that are events (the last vmpressure
window, the last /dev/mem_notify wake-up) are remembered by the core and ride in keyframes.
"""

from __future__ import annotations

from typing import Any

from simcore import (
    Event,
    Heard,
    LowmemLevel,
    MarkVictim,
    OomFail,
    PressureFrame,
    PressureHistory,
    PressureLevels,
    PressureNotify,
    ProcessRow,
    PsiAverages,
    ThresholdLevel,
    VmEnoughMemoryFail,
)


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


# ------------------------------------------------------------------------------------ parts
def _process(r: ProcessRow) -> dict[str, Any]:
    last = r.last_notified
    return {
        "pid": r.pid, "comm": r.comm, "rss": r.rss, "swap": r.swap, "oom_score_adj": r.oom_score_adj,
        "points": r.badness, "state": r.status, "restarts": r.generation,
        "last": None if last is None else {"tick": last.tick, "mechanism": last.mechanism,
                                           "level": last.level},
    }


def _event(ev: Event, drop: str = "") -> dict[str, Any]:
    fields = ev.fields()
    fields.pop(drop, None)
    return {"tick": ev.tick, **fields}


def _heard(h: Heard[Any] | None, drop: str = "") -> dict[str, Any] | None:
    """An event-level mechanism: None when disabled, {"tick": None} before its first event."""
    if h is None:
        return None
    return {"tick": None} if h.event is None else _event(h.event, drop)


def _threshold(t: ThresholdLevel) -> dict[str, Any]:
    return {"name": t.name, "value": t.value, "threshold": t.threshold, "below": t.below}


def _lowmem(lm: LowmemLevel) -> dict[str, Any]:
    return {"active": lm.active, "low": lm.low, "high": lm.high, "denied": lm.denied, "estimate": lm.estimate,
            "deny_pages": lm.deny_pages, "notify_low_pages": lm.notify_low_pages,
            "notify_high_pages": lm.notify_high_pages}


def _psi(a: PsiAverages) -> dict[str, Any]:
    return {"avg10": a.avg10, "avg60": a.avg60, "avg300": a.avg300, "total": a.total}


def levels_json(lv: PressureLevels) -> dict[str, Any]:
    """Each enabled mechanism's level (None when the scenario did not enable it)."""
    sd = lv.sigdanger
    psi: dict[str, Any] = {"some": _psi(lv.psi.some), "full": _psi(lv.psi.full)}
    if lv.psi.trigger is not None:
        psi["trigger"] = _event(lv.psi.trigger)
    return {
        "thresholds": None if lv.thresholds is None else [_threshold(t) for t in lv.thresholds],
        "sigdanger": None if sd is None else {"free": sd.free, "npswarn": sd.npswarn, "npskill": sd.npskill},
        "lowmem": None if lv.lowmem is None else _lowmem(lv.lowmem),
        "mem_notify": _heard(lv.mem_notify, drop="zone"),
        "vmpressure": _heard(lv.vmpressure),
        "psi": psi,
    }


def history_json(h: PressureHistory) -> dict[str, list[int]]:
    """The chart's series; `swap_used` only when the scenario has swap."""
    out = {"tick": list(h.tick), "free": list(h.free), "available": list(h.available),
           "committed_as": list(h.committed_as), "commit_limit": list(h.commit_limit)}
    if h.swap_used is not None:
        out["swap_used"] = list(h.swap_used)
    return out


def panel_json(p: PressureFrame) -> dict[str, Any]:
    m = p.mem
    return {
        "processes": [_process(r) for r in p.processes],
        "oom_pick": p.oom_pick,
        "reaping": list(p.reaping),
        "kills": p.kills,
        "last_kills": [{"tick": k.tick, "pid": k.pid, "comm": k.comm, "points": k.points,
                        "oom_score_adj": k.oom_score_adj, "rss_pages": k.rss_pages} for k in p.last_kills],
        "levels": levels_json(p.levels),
        "marks": [[mk.tick, mk.label] for mk in p.marks],
        "mem": {"free": m.free, "available": m.available, "managed": m.managed,
                "commit_limit": m.commit_limit, "committed_as": m.committed_as,
                "swap_used": m.swap_used, "swap_total": m.swap_total},
        "overcommit": {"mode": p.overcommit.mode, "refused": p.overcommit.refused,
                       "wasted_pages": p.overcommit.wasted_pages},
        "kswapd": {"awake": p.kswapd.awake, "priority": p.kswapd.priority},
        "history": history_json(p.history),
    }


def pressure_part(pressure: PressureFrame | None) -> dict[str, Any]:
    """{"pressure": {...}} to merge into a metrics body, or {} when the frame has no pressure."""
    return {} if pressure is None else {"pressure": panel_json(pressure)}
