"""SimRun (app/session.py): the frame-hash chain equals `zonescope run` on the share link."""

from __future__ import annotations

import json

import pytest

from app.cli import main as cli_main
from app.cli.common import run_hashed
from app.session import SimRun
from simcore.actions import AllocAction, FillAction, FreeEveryOtherAction, SetAction
from simcore.invariants import check
from simcore.link import decode_link
from simcore.scenario import ScenarioError, validate_scenario
from simcore.simulation import Simulation

TINY = {"name": "tiny", "seed": 11, "node": {"zones": [{"name": "Normal", "pages": 8192}]},
        "workload": {"events_per_tick": 150, "target_occupancy": 0.8}}


def replayed_hash(token: str) -> tuple[str, int]:
    scenario, tick = decode_link(token)
    return run_hashed(Simulation(scenario), tick), tick


def test_chain_matches_run_hashed_without_actions() -> None:
    run = SimRun(validate_scenario(TINY), 10**9)
    assert run.advance(12) == 12
    assert run.tick == 12
    assert replayed_hash(run.share_token()) == (run.frame_hash, 12)


def test_live_actions_replay_to_the_same_chain() -> None:
    run = SimRun(validate_scenario(TINY), 10**9)
    run.apply(FillAction(fraction=0.4, order=0, group="chunks"))  # at tick 0, before the first step
    run.advance(4)
    run.apply(FreeEveryOtherAction(group="chunks"))
    run.apply(AllocAction(order=9, count=2))
    run.advance(3)
    run.apply(SetAction(key="workload.events_per_tick", value=40))
    run.advance(2)
    check(run.sim.node)
    token = run.share_token()
    assert replayed_hash(token) == (run.frame_hash, 9)
    assert len(decode_link(token)[0].timeline) == 4


def test_zonescope_run_prints_the_same_frame_hash(capsys: pytest.CaptureFixture[str]) -> None:
    run = SimRun(validate_scenario(TINY), 10**9)
    run.advance(2)
    run.apply(AllocAction(order=3, count=5))
    run.advance(3)
    assert cli_main(["run", run.share_token(), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["frame_hash"] == run.frame_hash and out["ticks"] == 5


def test_rebuild_and_replay_reaches_the_same_state() -> None:
    run = SimRun(validate_scenario(TINY), 10**9)
    run.advance(3)
    run.apply(AllocAction(order=4, count=3))
    run.advance(5)
    at_8 = run.frame_hash
    run.rebuild()  # back to tick 0 of the recorded scenario (live action included)
    assert run.tick == 0
    run.advance(8)
    assert run.frame_hash == at_8
    # the start scenario (no live actions) gives another run
    run.rebuild(run.start_scenario)
    run.advance(8)
    assert run.frame_hash != at_8


def test_rejected_action_changes_nothing() -> None:
    run = SimRun(validate_scenario(TINY), 10**9)
    run.advance(2)
    before = (run.frame_hash, run.share_token())
    with pytest.raises(ScenarioError):
        run.apply(SetAction(key="workload.target_occupancy", value=5.0))
    assert (run.frame_hash, run.share_token()) == before


def test_events_are_handed_out_once() -> None:
    run = SimRun(validate_scenario(TINY), 10**9)
    run.apply(AllocAction(order=2, count=1))
    evs = run.take_events()
    assert [e.name for e in evs] == ["action"]
    assert run.take_events() == []


def test_fast_forward_cap() -> None:
    run = SimRun(validate_scenario(TINY), max_ff_work=150 * 100)
    run.check_target(100)
    with pytest.raises(ScenarioError, match="cap"):
        run.check_target(101)


def test_budget_stops_a_long_advance_early() -> None:
    run = SimRun(validate_scenario(TINY), 10**9)
    ticks = iter(range(1000))
    done = run.advance(50, budget_s=3, clock=lambda: float(next(ticks)))
    assert done == 3 and run.tick == 3
