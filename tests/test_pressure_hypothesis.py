"""Random sequences of ticks and pressure actions under memory pressure, with the invariant checker
after each step: reclaim (page cache, swap, MADV_FREE), OOM kills and reaping, restarts, kills."""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pressure_helpers import hub_of

from simcore.invariants import check
from simcore.pressure.spec import (
    DropCachesAction,
    KillAction,
    MadviseAction,
    OomScoreAdjAction,
    OvercommitAction,
)
from simcore.scenario import ScenarioError, validate_scenario
from simcore.simulation import Simulation

COMMS = ("web", "db", "job")


def make_sim(seed: int, swap: int, delay_ms: int) -> Simulation:
    react = [{"on": "about_to_swap", "do": "free_cache", "percent": 50, "madvise": "free", "within_ticks": 2,
              "cooldown_ticks": 5},
             {"on": "about_to_oom", "do": "restart"},
             {"on": "vmpressure_critical", "do": "gc", "cooldown_ticks": 3}]
    return Simulation(validate_scenario({
        "name": "hypothesis-pressure",
        "seed": seed,
        "node": {"zones": [{"name": "Normal", "pages": 2048}]},
        "vm": {"min_free_kbytes": 128},
        "workload": {"events_per_tick": 20, "target_occupancy": 0.3, "streams": [
            {"name": "cache", "class": "pagecache", "lifetime": 20},
            {"name": "anon", "class": "anon", "orders": {0: 8, 2: 1}, "lifetime": 10, "owner": "bg"},
            {"name": "slab", "class": "slab_unmovable", "lifetime": 15},
            {"name": "dentry", "class": "slab_reclaimable", "lifetime": 30},
        ]},
        "pressure": {
            "enabled": True, "swap_pages": swap, "oom": {"reaper_delay_ms": delay_ms, "notifier_pages": 64},
            "notify": {"thresholds": {"enabled": True, "about_to_oom_percent": 6},
                       "vmpressure": {"enabled": True}, "mem_notify": {"enabled": True},
                       "sigdanger": {"enabled": swap > 0}},
            "processes": [
                {"comm": "web", "anon_pages": 600, "cache_pages": 300, "heap_slack_pages": 100,
                 "file_pages": 200, "file_working_set": 100, "rate": 60, "reactions": react},
                {"comm": "db", "anon_pages": 700, "file_pages": 100, "anon_working_set": 300, "rate": 80,
                 "oom_score_adj": -200},
                {"comm": "job", "anon_pages": 900, "rate": 40, "start_tick": 3, "restart_delay_ticks": 4,
                 "reactions": react},
            ],
        },
    }))


actions = st.one_of(
    st.builds(lambda v: DropCachesAction(value=v), st.sampled_from([1, 2, 3])),
    st.builds(lambda c, v: OomScoreAdjAction(comm=c, value=v), st.sampled_from(COMMS),
              st.sampled_from([-1000, -300, 0, 500, 1000])),
    st.builds(lambda c: KillAction(comm=c), st.sampled_from(COMMS)),
    st.builds(lambda c, a, p: MadviseAction(comm=c, advice=a, percent=p), st.sampled_from(COMMS),
              st.sampled_from(["free", "dontneed"]), st.integers(1, 100)),
    st.builds(lambda m: OvercommitAction(mode=m), st.sampled_from([0, 1, 2])),
)
steps = st.lists(st.one_of(st.integers(1, 6), actions), min_size=1, max_size=12)


@settings(max_examples=25)
@given(seed=st.integers(0, 2**16), swap=st.sampled_from([0, 256, 1024]), delay=st.sampled_from([0, 50, 300]),
       ops=steps)
def test_invariants_hold_through_reclaim_kills_and_restarts(
    seed: int, swap: int, delay: int, ops: list[Any]
) -> None:
    sim = make_sim(seed, swap, delay)
    hub = hub_of(sim)
    for op in ops:
        if isinstance(op, int):
            for _ in range(op):
                sim.step()
        else:
            with contextlib.suppress(ScenarioError):  # e.g. no running process by that name
                sim.apply(op)
        check(sim.node)
        assert 0 <= hub.swap.used <= hub.swap.total
        tasks_swap = sum(hub.tasks.swap_pages(t) for t in hub.tasks.tasks)
        assert hub.swap.used == tasks_swap + sum(hub.reclaim.wl_swapped.values())
        assert hub.commit.committed == sum(t.committed for t in hub.tasks.tasks)
        for t in hub.tasks.tasks:
            if t.state == "dead":
                assert hub.tasks.anon_rss(t) == 0 and hub.tasks.swap_pages(t) == 0
