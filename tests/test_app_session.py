"""SimRun (app/simrun.py): the frame-hash chain equals `zonescope run` on the share link."""

from __future__ import annotations

import copy
import json

import pytest

from app.cli import main as cli_main
from app.cli.common import run_hashed
from app.presets import load_scenario
from app.pressure_view import pressure_part
from app.simrun import SimRun
from simcore.actions import AllocAction, FillAction, FreeEveryOtherAction, SetAction
from simcore.invariants import check
from simcore.link import decode_link, make_token
from simcore.scenario import ScenarioError, validate_scenario
from simcore.simulation import Simulation
from tests.pressure_helpers import hub_of

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
    want = (r"^seek: this needs under 0.01 s of simulation \(101 ticks from tick 0, x 150 events a "
            r"tick\); this server allows under 0.01 s \(got 15150 events, cap 15000\)$")
    with pytest.raises(ScenarioError, match=want):
        run.check_target(101)


def test_fast_forward_cap_counts_only_ticks_not_run_yet() -> None:
    """Issue 11: the cap is for new work. From tick 80 a seek to 180 runs 100 ticks (allowed), to 181
    runs 101 (refused); every backward seek is allowed, however far back and however big the run."""
    run = SimRun(validate_scenario(TINY), max_ff_work=150 * 100, keyframe_every=10)
    run.advance(80)
    run.check_target(180)
    with pytest.raises(ScenarioError, match=r"\(101 ticks from tick 80, the nearest point"):
        run.check_target(181)
    run.advance(100)  # now at 180, keyframes every 10 ticks behind
    for back in (179, 100, 1, 0):
        run.check_target(back)
    # forward from a keyframe: back at tick 5, a seek to 175 starts from the keyframe at 170
    seek(run, 5)
    run.check_target(175)
    with pytest.raises(ScenarioError, match=r"\(101 ticks from tick 180, the nearest point"):
        run.check_target(281)


def test_budget_stops_a_long_advance_early() -> None:
    run = SimRun(validate_scenario(TINY), 10**9)
    ticks = iter(range(1000))
    done = run.advance(50, budget_s=3, clock=lambda: float(next(ticks)))
    assert done == 3 and run.tick == 3


# ------------------------------------------------------------------ keyframes
def seek(run: SimRun, target: int) -> None:
    """What the hub's seek does: the nearest keyframe (if it saves work), then replay."""
    run.rewind(target)
    run.advance(target - run.tick)
    assert run.tick == target


def fresh_hash(run: SimRun, tick: int) -> str:
    """The frame_hash a fresh run of the recorded scenario (live actions included) gives at `tick`."""
    return replayed_hash(make_token(run.sim.recorded, tick))[0]


def test_seek_back_through_keyframes_equals_a_fresh_run() -> None:
    run = SimRun(validate_scenario(TINY), 10**9, keyframe_every=4)
    run.apply(FillAction(fraction=0.3, order=0, group="chunks"))  # at tick 0
    run.advance(5)
    run.apply(AllocAction(order=7, count=2))  # at tick 5, after the keyframe of tick 4
    run.advance(15)
    at_20, recorded = run.frame_hash, run.sim.recorded
    assert sorted(run.keyframes.regular) == [0, 4, 8, 12, 16, 20]
    for target in (13, 12, 3, 0, 6, 19):
        seek(run, target)
        assert run.sim.recorded == recorded  # both live actions stay recorded, whatever the keyframe
        assert run.frame_hash == replayed_hash(make_token(recorded, target))[0], target
        check(run.sim.node)
    assert sorted(run.keyframes.extra) == [1, 2, 3, 13]  # each backward seek's, up to its target
    run.rewind(11)
    assert run.tick == 8  # restored from the keyframe of tick 8, not rebuilt
    seek(run, 20)
    assert run.frame_hash == at_20


def test_stepping_back_restores_extra_keyframes_without_replay() -> None:
    run = SimRun(validate_scenario(TINY), 10**9, keyframe_every=8)
    run.advance(20)
    seek(run, 15)  # from the keyframe of tick 8, leaving extras at 9..15
    assert sorted(run.keyframes.extra) == list(range(9, 16))
    for target in (14, 13, 12):
        assert run.rewind(target) and run.tick == target  # a restore, nothing to replay
        assert run.frame_hash == fresh_hash(run, target)
    assert run.rewind(20) and run.tick == 16  # forward: a keyframe on the way is restored too


def test_live_action_after_a_backward_seek_discards_later_keyframes_and_links_replay_it() -> None:
    run = SimRun(validate_scenario(TINY), 10**9, keyframe_every=4)
    run.advance(20)
    seek(run, 9)
    run.apply(AllocAction(order=8, count=3))
    assert max(run.keyframes.regular) == 8 and not [t for t in run.keyframes.extra if t >= 9]
    assert replayed_hash(run.share_token()) == (run.frame_hash, 9)
    run.advance(6)
    assert replayed_hash(run.share_token()) == (run.frame_hash, 15)
    seek(run, 11)  # replays the new action from the keyframe of tick 8
    assert run.frame_hash == fresh_hash(run, 11)
    run.rebuild(run.start_scenario)  # reset: another history, the keyframes go
    assert sorted(run.keyframes.regular) == [0]


def test_keyframes_stay_under_the_memory_cap_by_thinning() -> None:
    probe = SimRun(validate_scenario(TINY), 10**9, keyframe_every=1)
    size = probe.keyframes.nbytes  # one keyframe (tick 0)
    run = SimRun(validate_scenario(TINY), 10**9, keyframe_every=2, keyframe_bytes=int(size * 6.5))
    run.advance(40)
    kfs = run.keyframes
    assert kfs.every > 2 and kfs.nbytes <= kfs.cap_bytes
    assert kfs.nbytes == sum(kf.nbytes for kf in kfs.regular.values())
    assert all(t % kfs.every == 0 for t in kfs.regular) and 0 in kfs.regular
    seek(run, 33)
    assert run.frame_hash == fresh_hash(run, 33)
    off = SimRun(validate_scenario(TINY), 10**9, keyframe_bytes=0)  # no keyframes: rebuild and replay
    off.advance(6)
    assert len(off.keyframes) == 0
    seek(off, 2)
    assert off.frame_hash == fresh_hash(off, 2)


def test_pressure_panel_after_a_backward_seek_equals_a_fresh_run() -> None:
    """The panel's remembered marks and notifications come back with the keyframe (the hub's `latest`)."""
    def published(run: SimRun) -> dict[str, object]:
        run.take_events()
        return pressure_part(run.frame.pressure)["pressure"]  # type: ignore[no-any-return]

    fresh = SimRun(load_scenario("desktop-about-to-swap"), 10**9)
    expected, remembered = {}, {}
    for target in (170, 200):
        fresh.advance(target - fresh.tick)
        expected[target] = published(fresh)
        remembered[target] = copy.deepcopy(hub_of(fresh.sim).latest)
    assert expected[200]["marks"]  # the about_to_swap crossing at tick 161
    run = SimRun(load_scenario("desktop-about-to-swap"), 10**9, keyframe_every=20)
    while run.tick < 210:
        run.advance(15)
        published(run)
    for target in (200, 170):  # a keyframe at the target; one before it, then a replay
        seek(run, target)
        assert published(run) == expected[target], target
        assert hub_of(run.sim).latest == remembered[target]  # not only what the hub's log still holds


def test_pausing_prefills_the_ticks_behind_and_changes_nothing() -> None:
    run = SimRun(validate_scenario(TINY), 10**9, keyframe_every=8)
    run.advance(12)
    run.take_events()
    run.advance(1)  # tick 13, its events not handed out yet
    before = (run.frame_hash, run.share_token(), run.frame, [e.name for e in run.pending_events])
    run.prefill_back()
    assert (run.frame_hash, run.share_token(), run.frame, [e.name for e in run.pending_events]) == before
    assert sorted(run.keyframes.extra) == [9, 10, 11, 12]
    run.advance(3)
    assert run.frame_hash == fresh_hash(run, 16)
    assert run.rewind(12) and run.tick == 12  # the first step back from the pause: a restore
    assert run.frame_hash == fresh_hash(run, 12)
    run.advance(2)
    run.keep_extra()  # what a single step does first
    run.advance(1)
    assert run.rewind(14) and run.tick == 14
    assert run.frame_hash == fresh_hash(run, 14)


def test_no_prefill_without_room_for_extra_keyframes() -> None:
    probe = SimRun(validate_scenario(TINY), 10**9)
    size = probe.keyframes.nbytes
    # the extras' share (1/8 of the cap) is 3/4 of one keyframe
    run = SimRun(validate_scenario(TINY), 10**9, keyframe_every=4, keyframe_bytes=size * 6)
    run.advance(7)
    sim = run.sim
    run.prefill_back()
    assert run.sim is sim and not run.keyframes.extra  # no restore-replay-return for nothing
    assert run.frame_hash == fresh_hash(run, 7)
