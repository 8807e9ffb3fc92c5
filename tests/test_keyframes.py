"""Keyframes (simcore/keyframe.py): a restored snapshot runs on bit-identical to the original."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from app.presets import load_scenario, preset_names
from simcore.actions import Action, AllocAction, CompactAction, FillAction
from simcore.compaction.install import find
from simcore.invariants import check
from simcore.keyframe import unsafe_references
from simcore.scenario import validate_scenario
from simcore.simulation import Simulation

TINY = {"name": "tiny", "seed": 3, "node": {"zones": [{"name": "Normal", "pages": 8192}]},
        "workload": {"events_per_tick": 120, "target_occupancy": 0.85}}
T = 14
#: live actions after the snapshot: tick -> action (performed after that tick's step)
LIVE: dict[int, Action] = {T + 2: AllocAction(order=9, count=2, alloc_class="anon"),
                           T + 4: CompactAction(step=True)}
K = 5


def run_on(sim: Simulation, until: int, live: dict[int, Action]) -> list[bytes]:
    """Step to `until`, performing `live` actions at their ticks; the frame digest after each tick."""
    out = []
    while sim.tick < until:
        sim.step()
        if sim.tick in live:
            sim.apply(live[sim.tick])
        out.append(sim.frame().digest())
    return out


@pytest.mark.parametrize("preset", preset_names())
def test_no_closure_lambda_or_stray_view_on_the_simulation_graph(preset: str) -> None:
    sim = Simulation(load_scenario(preset))
    assert unsafe_references(sim) == []
    sim.run_until(3)
    sim.apply(CompactAction(step=True))  # a manual run in progress: its objects are on the graph too
    assert unsafe_references(sim) == []


def test_unsafe_references_reports_what_a_copy_would_break() -> None:
    sim = Simulation(validate_scenario(TINY))
    assert unsafe_references(sim) == []
    seen: list[object] = []
    sim.node.listeners.append(lambda ev: seen.append(ev))
    hooks = sim.node.hooks
    prev = hooks.oom  # type: ignore[attr-defined]

    def oom(ac: object) -> bool:
        return prev is not None

    hooks.oom = oom  # type: ignore[attr-defined]
    sim.handlers["free_group"] = functools.partial(sim._do_free_group)  # type: ignore[assignment]
    sim.node.kind_view = np.frombuffer(sim.node.kind, dtype=np.uint8)  # type: ignore[attr-defined]
    found = "\n".join(unsafe_references(sim))
    assert "<lambda>" in found and "oom" in found and "functools.partial" in found
    assert "kind_view: numpy view" in found


@pytest.mark.parametrize("preset", preset_names())
def test_restored_keyframe_original_and_replay_give_the_same_frames(preset: str) -> None:
    sim = Simulation(load_scenario(preset))
    sim.run_until(T)
    sim.apply(CompactAction(step=True))  # snapshot in the middle of a compaction run
    sim.frame()
    kf = sim.snapshot()
    assert kf.tick == T and kf.nbytes > sim.node.nr_pages
    copy = kf.restore()
    again = kf.restore()  # a keyframe is not used up
    replay = Simulation(sim.recorded)
    replay.run_until(T)
    replay.frame()
    expected = run_on(sim, T + K, LIVE)
    assert run_on(copy, T + K, LIVE) == expected
    assert run_on(replay, T + K, LIVE) == expected
    assert run_on(again, T + K, {}) != expected  # the live actions matter: the test can fail
    check(copy.node)
    assert copy.share_token() == sim.share_token()


def test_restored_copy_is_independent_and_its_views_alias_its_own_arrays() -> None:
    sim = Simulation(validate_scenario(TINY))
    sim.run_until(4)
    copy = sim.snapshot().restore()
    c = find(copy)
    assert c is not None
    assert np.shares_memory(c.c.kindv, np.frombuffer(copy.node.kind, dtype=np.uint8))
    assert not np.shares_memory(c.c.kindv, np.frombuffer(sim.node.kind, dtype=np.uint8))
    assert copy.node.hooks is not sim.node.hooks
    before = bytes(sim.node.kind)
    copy.apply(FillAction(fraction=0.5, order=0, group="only-in-copy"))
    assert bytes(sim.node.kind) == before
    assert copy.node.zones[0].kind is copy.node.kind  # shared arrays stay shared in the copy
    check(sim.node)
    check(copy.node)


def test_restore_adopts_actions_recorded_after_the_keyframe() -> None:
    sim = Simulation(validate_scenario(TINY))
    sim.run_until(3)
    sim.frame()
    kf = sim.snapshot()
    sim.run_until(6)
    sim.apply(AllocAction(order=6, count=4))  # recorded after the keyframe was taken
    sim.run_until(8)
    sim.frame()
    expected = run_on(sim, 12, {})
    copy = kf.restore(sim.recorded)
    assert len(copy.recorded.timeline) == 1
    copy.run_until(8)  # performs the action recorded at tick 6
    copy.frame()
    assert run_on(copy, 12, {}) == expected
    # a timeline that differs at or before the keyframe's tick is refused
    other = validate_scenario(TINY).with_action(2, AllocAction(order=1, count=1))
    with pytest.raises(ValueError, match="differs"):
        kf.restore(other)
