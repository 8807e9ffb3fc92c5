"""Simulated processes: growth, commit charging, page tables, reactions, exit, restart, and the actions."""

from __future__ import annotations

import pytest
from pressure_helpers import hub_of, pressure_sim, run_checked

from simcore.constants import PAGEBLOCK_NR_PAGES, PageKind
from simcore.link import decode_link, make_token
from simcore.pressure.processes import COMMIT_CHUNK
from simcore.pressure.spec import (
    DropCachesAction,
    KillAction,
    MadviseAction,
    OomScoreAdjAction,
    OvercommitAction,
)
from simcore.scenario import ScenarioError
from simcore.simulation import Simulation


def test_growth_commit_and_page_tables() -> None:
    sim = pressure_sim({"processes": [{"comm": "a", "anon_pages": 1000, "cache_pages": 200, "file_pages": 300,
                                       "virt_pages": 5000, "rate": 100}]})
    hub = hub_of(sim)
    sim.run_until(1)
    t = hub.tasks.tasks[0]
    assert hub.tasks.pages(t, "anon") == 100  # `rate` pages per tick, anon first
    run_checked(sim, 20)
    assert [hub.tasks.pages(t, pool) for pool in ("anon", "cache", "file")] == [1000, 200, 300]
    # anon + cache committed in 64-page chunks on top of the untouched reservation
    assert t.committed == 5000 + -(-1200 // COMMIT_CHUNK) * COMMIT_CHUNK
    assert hub.commit.committed == t.committed
    # one page-table page per 512 mapped pages (+1)
    assert hub.tasks.pages(t, "pgtable") == (t.committed + 300) // PAGEBLOCK_NR_PAGES + 1


def test_restart_gets_a_new_pid_and_starts_small() -> None:
    procs = [{"comm": "app", "anon_pages": 2000, "rate": 500, "restart_delay_ticks": 5,
              "reactions": [{"on": "about_to_oom", "do": "restart"}]}]
    sim = pressure_sim({"notify": {"thresholds": {"enabled": True, "about_to_oom_percent": 90}},
                       "processes": procs})
    hub = hub_of(sim)
    run_checked(sim, 12, every=3)
    first, second = hub.tasks.tasks[:2]
    assert first.state == "dead" and first.exit_reason == "restart"
    assert second.comm == "app" and second.pid != first.pid and second.generation == 1
    assert sim.node.pid_by_comm["app"] == second.pid
    assert not sim.node.procs[first.pid].alive and sim.node.procs[second.pid].alive
    assert hub.tasks.anon_rss(first) == 0 and first.committed == 0


def test_exit_tick_and_planned_start() -> None:
    sim = pressure_sim({"processes": [{"comm": "job", "anon_pages": 300, "start_tick": 5, "exit_tick": 9}]})
    hub = hub_of(sim)
    sim.run_until(4)
    assert hub.tasks.tasks[0].state == "waiting"
    sim.run_until(8)
    assert hub.tasks.tasks[0].state == "running"
    sim.run_until(9)
    t = hub.tasks.tasks[0]
    assert t.state == "dead" and t.exit_reason == "exit" and hub.commit.committed == 0


def test_free_cache_reaction_spreads_over_k_ticks_and_holds_regrowth() -> None:
    procs = [{"comm": "app", "anon_pages": 100, "cache_pages": 1000, "rate": 2000,
              "reactions": [{"on": "about_to_swap", "do": "free_cache", "percent": 50, "within_ticks": 5,
                             "cooldown_ticks": 30}]}]
    sim = pressure_sim({"processes": procs})
    hub = hub_of(sim)
    sim.run_until(2)
    t = hub.tasks.tasks[0]
    hub.tasks.deliver("thresholds", "about_to_swap", "about_to_swap", "test")
    sizes = []
    for _ in range(6):
        sim.step()
        sizes.append(hub.tasks.pages(t, "cache"))
    assert sizes == [900, 800, 700, 600, 500, 500]  # 500 pages, 100 per tick, then no regrowth
    hub.tasks.deliver("thresholds", "about_to_swap", "about_to_swap", "again")  # within the cooldown: ignored
    assert sum(1 for e in sim.node.events if e.name == "task_reaction") == 1
    sim.run_until(40)
    assert hub.tasks.pages(t, "cache") == 1000  # after the hold the cache grows back


def _sim_with_app() -> Simulation:
    app = {"comm": "app", "anon_pages": 500, "cache_pages": 500, "file_pages": 400, "rate": 2000}
    sim = pressure_sim({"processes": [app]})
    sim.run_until(2)
    return sim


def test_actions() -> None:
    sim = _sim_with_app()
    hub = hub_of(sim)
    t = hub.tasks.tasks[0]
    assert "oom_score_adj = 300" in sim.apply(OomScoreAdjAction(comm="app", value=300))
    assert t.proc.oom_score_adj == 300 and sim.node.event_counts["oom_score_adj_update"] == 1
    assert "MADV_FREE over 250" in sim.apply(MadviseAction(comm="app", advice="free", percent=50))
    assert sim.node.nr_kind_pages[PageKind.LAZYFREE] == 250
    assert "dropped 400 page cache" in sim.apply(DropCachesAction(value=1))
    assert sim.node.nr_kind_pages[PageKind.PAGECACHE] == 0 and sim.node.vm_events["drop_pagecache"] == 1
    assert "vm.overcommit_memory = 2" in sim.apply(OvercommitAction(mode=2, ratio=80))
    assert hub.commit.mode == 2 and hub.commit.commit_limit == 8192 * 80 // 100
    sim.apply(KillAction(comm="app"))
    assert t.state == "dead" and t.exit_reason == "sigkill"
    with pytest.raises(ScenarioError, match="no running process"):
        sim.apply(KillAction(comm="app"))
    run_checked(sim, 2)


def test_actions_replay_from_a_link() -> None:
    sim = _sim_with_app()
    sim.apply(MadviseAction(comm="app", advice="dontneed", percent=40))
    sim.run_until(5)
    sim.apply(OomScoreAdjAction(comm="app", value=-1000))
    sim.run_until(8)
    scenario, tick = decode_link(make_token(sim.recorded, sim.tick))
    again = Simulation(scenario)
    again.run_until(tick)
    assert again.frame().digest() == sim.frame().digest()
    assert hub_of(again).tasks.tasks[0].proc.oom_score_adj == -1000
