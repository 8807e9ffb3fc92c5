"""The "pressure" section of `zonescope run --json`: who was notified, who reacted, who was killed,
what overcommit refused and how much memory sat free meanwhile, /proc/pressure/memory, and series
for a chart: pages free, MemAvailable, Committed_AS, CommitLimit, swap used, MADV_FREE pages,
refusals so far, and PSI some avg10 in hundredths of a percent, every `sample_every` ticks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simcore.constants import PAGE_SHIFT
from simcore.pressure.install import Pressure, find
from simcore.pressure.meminfo import si_mem_available

if TYPE_CHECKING:
    from simcore.simulation import Simulation


def _kb(pages: int) -> int:
    return pages << (PAGE_SHIFT - 10)


def processes(hub: Pressure) -> list[dict[str, Any]]:
    out = []
    tt = hub.tasks
    for t in tt.tasks:
        out.append(
            {
                "pid": t.pid,
                "comm": t.comm,
                "state": t.state,
                "generation": t.generation,
                "oom_score_adj": t.proc.oom_score_adj,
                "anon_rss": tt.anon_rss(t),
                "cache": tt.pages(t, "cache"),
                "lazyfree": tt.pages(t, "lazyfree"),
                "file": tt.pages(t, "file"),
                "pgtables": tt.pages(t, "pgtable"),
                "swap": tt.swap_pages(t),
                "committed": t.committed,
                "enomem": t.enomem,
                "alloc_failures": t.alloc_failures,
                "exit_reason": t.exit_reason,
                "badness": hub.oom.badness(t.pid) if t.state == "running" else None,
            }
        )
    return out


def timeline(hub: Pressure) -> list[dict[str, Any]]:
    return [{"tick": ev.tick, "event": ev.name, **ev.fields()} for ev in hub.log]


def pressure_report(sim: Simulation) -> dict[str, Any] | None:
    """The report, or None when the scenario has no `[pressure]` enabled."""
    hub = find(sim)
    if hub is None:
        return None
    node = hub.node
    commit = hub.commit
    oc = [(tick, free) for tick, free, source in hub.refusals if source == "overcommit"]
    first = oc[0] if oc else None
    return {
        "processes": processes(hub),
        "notifications": dict(sorted(hub.delivered.items())),
        "kills": hub.oom.kills,
        "oom_notifier_freed": hub.oom.notifier_freed,
        "pglazyfree": node.vm_events.get("pglazyfree", 0),
        "pglazyfreed": node.vm_events.get("pglazyfreed", 0),
        "overcommit": {
            "mode": commit.mode,
            "CommitLimit_kB": _kb(commit.commit_limit),
            "Committed_AS_kB": _kb(commit.committed),
            "refused": len(oc),
            "first_refusal_tick": first[0] if first else None,
            "free_pages_at_first_refusal": first[1] if first else None,
            # memory that sat free while strict accounting refused a commit
            "wasted_pages": max((free for _, free in oc), default=0),
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
