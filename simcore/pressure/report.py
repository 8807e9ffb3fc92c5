"""The "pressure" section of `zonescope run --json`: who was notified, who reacted, who was killed,
what overcommit refused and how much memory sat free meanwhile, /proc/pressure/memory, and series
for a chart: pages free, MemAvailable, Committed_AS, CommitLimit, swap used, MADV_FREE pages,
refusals so far, and PSI some avg10 in hundredths of a percent, every `sample_every` ticks. The
process table and the overcommit figures are the ones the pressure frame shows (summary.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simcore.constants import PAGE_SHIFT
from simcore.pressure.install import Pressure, find
from simcore.pressure.meminfo import si_mem_available
from simcore.pressure.summary import commit_summary, process_rows

if TYPE_CHECKING:
    from simcore.simulation import Simulation


def _kb(pages: int) -> int:
    return pages << (PAGE_SHIFT - 10)


def processes(hub: Pressure) -> list[dict[str, Any]]:
    """Every task, from the process table the pressure frame shows too (simcore/pressure/summary.py)."""
    return [
        {
            "pid": r.pid,
            "comm": r.comm,
            "state": r.state,
            "generation": r.generation,
            "oom_score_adj": r.oom_score_adj,
            "anon_rss": r.anon_rss,
            "cache": r.cache,
            "lazyfree": r.lazyfree,
            "file": r.file,
            "pgtables": r.pgtables,
            "swap": r.swap,
            "committed": r.committed,
            "enomem": r.enomem,
            "alloc_failures": r.alloc_failures,
            "exit_reason": r.exit_reason,
            "badness": r.badness,
        }
        for r in process_rows(hub, hub.tasks.tasks)
    ]


def timeline(hub: Pressure) -> list[dict[str, Any]]:
    return [{"tick": ev.tick, "event": ev.name, **ev.fields()} for ev in hub.log]


def pressure_report(sim: Simulation) -> dict[str, Any] | None:
    """The report, or None when the scenario has no `[pressure]` enabled."""
    hub = find(sim)
    if hub is None:
        return None
    node = hub.node
    oc = commit_summary(hub)
    return {
        "processes": processes(hub),
        "notifications": dict(sorted(hub.delivered.items())),
        "kills": hub.oom.kills,
        "oom_notifier_freed": hub.oom.notifier_freed,
        "pglazyfree": node.vm_events["pglazyfree"],
        "pglazyfreed": node.vm_events["pglazyfreed"],
        "overcommit": {
            "mode": oc.mode,
            "CommitLimit_kB": _kb(oc.commit_limit),
            "Committed_AS_kB": _kb(oc.committed_as),
            "refused": oc.refused,
            "first_refusal_tick": oc.first_refusal_tick,
            "free_pages_at_first_refusal": oc.free_pages_at_first_refusal,
            "wasted_pages": oc.wasted_pages,
        },
        "lowmem": (
            {"state": dict(hub.lowmem.state), "denied": hub.lowmem.denied} if hub.lowmem is not None else None
        ),
        "reclaim": {
            "kswapd_awake": hub.reclaim.kswapd_awake,
            "kswapd_priority": hub.reclaim.kswapd_priority,
            "kswapd_failures": hub.reclaim.kswapd_failures,
            "lowest_direct_priority": hub.reclaim.lowest_direct_priority,
        },
        "vmpressure_windows": dict(hub.vmpressure.windows) if hub.vmpressure is not None else None,
        "psi": hub.psi.render(),
        "meminfo": {
            "MemFree_kB": _kb(node.free_pages),
            "MemAvailable_kB": _kb(si_mem_available(node)),
            "SwapTotal_kB": _kb(hub.swap.total),
            "SwapFree_kB": _kb(hub.swap.free),
        },
        "timeline": timeline(hub),
        "series": hub.series,
    }


def pressure_json(sim: Simulation) -> dict[str, Any]:
    """{"pressure": report} to merge into `zonescope run --json`, or {} without pressure."""
    rep = pressure_report(sim)
    return {} if rep is None else {"pressure": rep}
