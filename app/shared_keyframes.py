"""Keyframes of every run this server has played, shared: links and Detach open from the nearest.

Theory of operation
-------------------
A session keeps keyframes of its own run (app/keyframes.py) for its backward seeks. The regular ones
are also published here, so that a link to a tick some run on this server has reached (a student's
Detach, a copied link opened a week later while the server still runs) restores the nearest one and
replays only the ticks after it, instead of the whole run from tick 0.

A keyframe is a valid start for a link when the link's scenario is the keyframe's run's: the same
scenario apart from its timeline (`base_key`), and the same timeline entries up to the keyframe's
tick (`prefix_key`); what the timeline holds after that tick is replayed. The state at the end of
tick T depends on nothing else (the core is deterministic), so such a keyframe, restored with the
link's recorded scenario, continues exactly as a replay from tick 0 would, frame hash included.

Memory: at most `cap_bytes` in all. Per scenario, keyframes stay on an even grid of ticks whose step
doubles when the cap is reached (as a session's store thins), except the NEWEST most recent ones of
each scenario, which stay whatever the grid: those are what Detach and a just-copied link need.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

from app.keyframes import RunKeyframe
from simcore import Scenario

#: the most recent keyframes of each scenario that stay off the grid
NEWEST = 4


def base_key(scenario: Scenario) -> str:
    """The scenario without its timeline, as a digest."""
    doc = scenario.to_dict()
    doc.pop("timeline", None)
    return hashlib.blake2b(json.dumps(doc, sort_keys=True).encode(), digest_size=16).hexdigest()


def prefix_key(scenario: Scenario, tick: int) -> str:
    """The timeline entries at `tick` or before (in the order given), as a digest."""
    entries = [e.model_dump(mode="json") for e in scenario.timeline if e.at <= tick]
    return hashlib.blake2b(json.dumps(entries, sort_keys=True).encode(), digest_size=16).hexdigest()


class _Runs:
    """One scenario's keyframes: tick -> (timeline prefix key, keyframe)."""

    def __init__(self) -> None:
        self.every = 1
        self.by_tick: dict[int, tuple[str, RunKeyframe]] = {}


class SharedKeyframes:
    def __init__(self, cap_bytes: int) -> None:
        self.cap_bytes = cap_bytes
        self.runs: dict[str, _Runs] = {}
        self.nbytes = 0

    def publish(self, recorded: Scenario, kf: RunKeyframe) -> None:
        """Keep `kf`, a keyframe of a run of `recorded` (its timeline as recorded so far)."""
        if self.cap_bytes <= 0 or kf.nbytes > self.cap_bytes // 4:
            return
        runs = self.runs.setdefault(base_key(recorded), _Runs())
        old = runs.by_tick.get(kf.tick)
        if old is not None:
            self.nbytes -= old[1].nbytes
        runs.by_tick[kf.tick] = (prefix_key(recorded, kf.tick), kf)
        self.nbytes += kf.nbytes
        while self.nbytes > self.cap_bytes and self._thin():
            pass

    def nearest(self, scenario: Scenario, at: int) -> RunKeyframe | None:
        """The latest keyframe at `at` or before that a run of `scenario` may start from."""
        runs = self.runs.get(base_key(scenario))
        if runs is None:
            return None
        for tick in sorted((t for t in runs.by_tick if t <= at), reverse=True):
            prefix, kf = runs.by_tick[tick]
            if prefix == prefix_key(scenario, tick):
                return kf
        return None

    def start_tick(self, scenario: Scenario, at: int) -> int:
        """Where a run of `scenario` to tick `at` would start on this server: the nearest keyframe's
        tick, or 0."""
        kf = self.nearest(scenario, at)
        return 0 if kf is None else kf.tick

    def _thin(self) -> bool:
        """Double the grid step of the scenario with the most bytes and drop the keyframes off it
        (not its NEWEST); when that frees nothing, drop that scenario's oldest keyframe. Returns
        whether anything went."""
        if not self.runs:
            return False
        key = max(self.runs, key=lambda k: sum(kf.nbytes for _, kf in self.runs[k].by_tick.values()))
        runs = self.runs[key]
        ticks = sorted(runs.by_tick)
        keep = set(ticks[-NEWEST:])
        off: list[int] = []
        while not off and runs.every <= ticks[-1]:
            runs.every *= 2
            off = [t for t in ticks if t % runs.every and t not in keep]
        if not off:
            off = ticks[:1]
        self._drop(runs, off)
        if not runs.by_tick:
            del self.runs[key]
        return True

    def _drop(self, runs: _Runs, ticks: Iterable[int]) -> None:
        for t in list(ticks):
            self.nbytes -= runs.by_tick.pop(t)[1].nbytes
