"""One simulation under the dashboard's controls, with the frame-hash chain a share link reproduces.

`SimRun` is synchronous and owned by one session's producer (it runs in a worker thread while the
event loop keeps serving sockets). It keeps a `TickRecord` of every tick it steps (the charts'
history and the run's hash chain) and builds a whole `Frame` only for the tick it stops at (or keeps
a keyframe of), so a seek costs little more than the simulation itself. `frame_hash` is the run's
`RunHash`, as `zonescope run <link>` computes it for a link to the same tick. A live action at tick
T is replayed from a link at the end of tick T, before that tick's record; so after a live action
the last link of the chain is recomputed from the hash state before tick T, with the tick's events
followed by the action's (the order a replay produces).

Seeking backward restores the nearest keyframe at or before the target (app/keyframes.py: the run
every few ticks, with the hash chain) and replays from there (the core is deterministic); without one
it rebuilds the simulation from its recorded scenario and replays from tick 0.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

from app.chart_history import ChartHistory
from app.ff_cost import ff_refusal
from app.keyframes import KeyframeStore, RunKeyframe
from app.shared_keyframes import SharedKeyframes
from simcore import (
    Action,
    CompactAction,
    Event,
    Frame,
    RunHash,
    Scenario,
    ScenarioError,
    Simulation,
    TickRecord,
    make_token,
)


class SimRun:
    def __init__(self, scenario: Scenario, max_ff_work: int, keyframe_every: int = 10,
                 keyframe_bytes: int = 256 << 20, shared: SharedKeyframes | None = None) -> None:
        self.start_scenario = scenario
        self.max_ff_work = max_ff_work
        self.shared = shared
        #: the tick a shared keyframe started this run from (`start_from`), else 0
        self.started_from = 0
        self.pending_events: list[Event] = []
        self.keyframes = KeyframeStore(keyframe_every, keyframe_bytes)
        # ticks (lo, hi] of a backward seek's replay that leave extra keyframes
        self._extra_span = (0, 0)
        self.history = ChartHistory()
        self._build(scenario)

    def _build(self, scenario: Scenario) -> None:
        self.sim = Simulation(scenario)
        self._hasher = RunHash()
        self._record(self.sim.tick_record())
        self._keep()

    def _keep(self) -> None:
        """Keep a keyframe of this tick if one is due (regular) or a backward seek asked for it."""
        tick = self.sim.tick
        lo, hi = self._extra_span
        extra = lo < tick <= hi
        if extra or self.keyframes.wants(tick):
            kf = self._keyframe()
            self.keyframes.add(kf, extra)
            if self.shared is not None and not extra:
                self.shared.publish(self.sim.recorded, kf)

    def start_from(self, kf: RunKeyframe) -> None:
        """Continue from a shared keyframe of a run of this scenario (app/shared_keyframes.py): the
        run then goes on exactly as a replay from tick 0 would."""
        self._restore(kf)
        self.keyframes.add(kf)
        self.started_from = kf.tick

    def _record(self, record: TickRecord) -> None:
        """This tick, stepped: its record joins the chain and the history; its frame waits (`frame`)."""
        self._hash_before = self._hasher.copy()
        self._hasher.add(record.digest())
        self._last = record
        self._frame: Frame | None = None
        self.pending_events.extend(record.events)
        self.history.record(record)

    @property
    def frame(self) -> Frame:
        """The whole frame of the current tick (built on first use, with the tick's events)."""
        if self._frame is None or self._frame.tick != self.sim.tick:
            frame = self.sim.frame(events=False)
            self._frame = dataclasses.replace(frame, events=self._last.events)
        return self._frame

    def _keyframe(self) -> RunKeyframe:
        return RunKeyframe(self.sim.snapshot(), self.frame, self._hasher.copy(), self._hash_before.copy(),
                           self.history.snapshot())

    def _restore(self, kf: RunKeyframe) -> None:
        self.pending_events = []
        self.sim = kf.sim.restore(self.sim.recorded)
        self._frame = kf.frame
        self._last = kf.frame.record()
        self.history.restore(kf.history)
        self._hasher = kf.hasher.copy()
        self._hash_before = kf.hash_before.copy()

    # ------------------------------------------------------------- queries
    @property
    def tick(self) -> int:
        return self.sim.tick

    @property
    def frame_hash(self) -> str:
        return self._hasher.hexdigest(self.frame)

    def share_token(self) -> str:
        return make_token(self.sim.recorded, self.sim.tick)

    def take_events(self) -> list[Event]:
        evs, self.pending_events = self.pending_events, []
        return evs

    def proc(self, file: str) -> str:
        return self.sim.proc(file)

    def check_target(self, tick: int, rate: int = 3_000_000) -> None:
        """Refuse a seek whose new work is over the server's fast-forward cap, in words.

        Only ticks run from the seek's starting point count: the current tick or the nearest keyframe
        at or before the target (this run's or a shared one), whichever is later. A backward seek
        (Back, a marker click, a seek to an earlier tick) is never refused: it replays at most what
        this run has already played."""
        now = self.sim.tick
        if tick < now:
            return
        kf = self._nearest(tick)
        start = max(now, kf.tick if kf is not None else 0)
        refusal = ff_refusal("seek", start, tick, self.sim.scenario.workload.events_per_tick,
                             self.max_ff_work, rate)
        if refusal is not None:
            raise ScenarioError(refusal)

    def _nearest(self, tick: int) -> RunKeyframe | None:
        """The latest keyframe at `tick` or before: this run's, or a shared one of the same run."""
        own = self.keyframes.at_or_before(tick)
        if self.shared is None:
            return own
        other = self.shared.nearest(self.sim.recorded, tick)
        if other is not None and (own is None or other.tick > own.tick):
            return other
        return own

    # ------------------------------------------------------------ controls
    def advance(self, ticks: int, budget_s: float | None = None,
                clock: Callable[[], float] = time.perf_counter) -> int:
        """Step up to `ticks` ticks, a record after each; stop early when `budget_s` is spent."""
        t0 = clock()
        done = 0
        while done < ticks:
            self.sim.step()
            self._record(self.sim.tick_record())
            self._keep()
            done += 1
            if budget_s is not None and clock() - t0 >= budget_s:
                break
        return done

    def apply(self, action: Action) -> str:
        """A live action now, recorded for links; the chain's last link is recomputed (see module doc)."""
        tick_events = self._last.events
        detail = self.sim.apply(action)
        frame = self.sim.frame()
        self.pending_events.extend(frame.events)
        frame = dataclasses.replace(frame, events=tick_events + frame.events)
        self._hasher = self._hash_before.copy()
        self._hasher.add(frame.record_digest())
        self._last = frame.record()
        self._frame = frame
        self.history.record(frame)
        self.keyframes.discard_from(self.sim.tick)  # history diverges here
        self._extra_span = (0, 0)
        self._keep()
        return detail

    def compaction_step(self) -> str:
        return self.apply(CompactAction(step=True))

    def rebuild(self, scenario: Scenario | None = None) -> None:
        """Back to tick 0 of `scenario` (default: the recorded one, live actions included). Another
        scenario starts another history: the keyframes go."""
        self.pending_events = []
        if scenario is not None:
            self.keyframes.clear()
        self._extra_span = (0, 0)
        self.history.clear()
        self._build(self.sim.recorded if scenario is None else scenario)

    def rewind(self, target: int) -> bool:
        """Before seeking to `target`: jump to the nearest keyframe at or before it when that saves
        work (the target lies behind, or a keyframe lies between the current tick and the target);
        without a keyframe behind, rebuild at tick 0. Returns whether the run moved.

        A backward seek leaves extra keyframes at the ticks up to its target (see app/keyframes.py),
        so that stepping back again is a restore."""
        now = self.sim.tick
        kf = self._nearest(target)
        if target >= now and (kf is None or kf.tick <= now):
            return False
        if kf is None:
            self.rebuild()
        else:
            self._restore(kf)
        if target < now:
            self.keyframes.new_batch()
            room = 0 if kf is None else self.keyframes.extra_room(kf.nbytes)
            self._extra_span = (max(target - room, self.sim.tick), target)
        return True

    def keep_extra(self) -> None:
        """Keep this tick as an extra keyframe (before a single step: stepping back is a restore)."""
        if self.keyframes.cap_bytes > 0 and not self.keyframes.has(self.sim.tick):
            self.keyframes.add(self._keyframe(), extra=True)

    def prefill_back(self) -> None:
        """Paused: leave extra keyframes at the ticks just before this one, as a backward seek does,
        then come back to this very state; so the first step back is a restore too."""
        now = self.sim.tick
        behind = self.keyframes.at_or_before(now - 1)
        if behind is None or behind.tick == now - 1 or not self.keyframes.extra_room(behind.nbytes):
            return  # nothing to start from, nothing to do, or no room for extras (a huge node)
        head = self._keyframe()
        pending = self.pending_events
        self.history.frozen = True  # the charts' history stays as it is: the run comes back here
        try:
            self.rewind(now - 1)
            self.advance(now - 1 - self.tick)
            self._restore(head)
        finally:
            self.history.frozen = False
        self.pending_events = pending
