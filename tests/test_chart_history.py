"""The session's chart history: one sample a tick, evenly thinned, cut back when the run goes back."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from app import chart_history
from app.chart_history import COUNTERS, ZONE_FIELDS, ChartHistory
from app.presets import load_scenario
from app.simrun import SimRun
from simcore.frame import Frame

SMALL = ["node.zones.0.pages=16384", "workload.events_per_tick=200"]


def run(ticks: int) -> SimRun:
    r = SimRun(load_scenario("default", SMALL), max_ff_work=10**9, keyframe_every=5)
    r.advance(ticks)
    return r


def test_one_sample_a_tick_as_columns_of_equal_length() -> None:
    r = run(12)
    msg = r.history.message()
    assert msg["type"] == "history" and msg["tick"] == list(range(13))
    (zone,) = msg["zones"]
    assert zone["name"] == "Normal" and zone["managed"] > 0
    for f in ZONE_FIELDS:
        assert len(zone[f]) == 13
    assert set(msg["vmstat"]) == set(COUNTERS) and all(len(v) == 13 for v in msg["vmstat"].values())
    # the last sample is the frame the session holds
    assert zone["free_pages"][-1] == r.frame.zones[0].free_pages
    assert zone["watermark_min"][-1] == r.frame.zones[0].watermark_min


def test_a_long_run_is_thinned_evenly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chart_history, "MAX_SAMPLES", 16)
    h = ChartHistory()
    r = run(0)
    for t in range(100):
        h.record(_at(r, t))
    ticks = [s[0] for s in h.samples]
    assert len(ticks) <= 16 and ticks[0] == 0
    strides = {b - a for a, b in itertools.pairwise(ticks)}
    assert strides == {h.stride} and h.stride == 8


def _at(r: SimRun, tick: int) -> Frame:
    return dataclasses.replace(r.frame, tick=tick)


def test_going_back_cuts_the_history_and_the_replay_records_it_again() -> None:
    r = run(30)
    before = r.history.message()
    r.rewind(11)  # restores a keyframe at or before 11
    assert r.history.samples[-1][0] <= 11
    r.advance(30 - r.tick)
    again = r.history.message()
    assert again == before  # deterministic replay: the same samples
    r.rebuild()
    assert [s[0] for s in r.history.samples] == [0]


def test_preparing_the_first_step_back_leaves_the_history_alone() -> None:
    r = run(23)
    before, sim = r.history.message(), r.sim
    r.prefill_back()  # goes back a few ticks and returns to tick 23
    assert r.sim is not sim, "prefill_back did not go back"
    assert r.tick == 23 and r.history.message() == before
    assert not r.history.frozen
