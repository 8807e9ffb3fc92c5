"""A session's keyframes: a cache of the run at regular ticks that makes a backward seek cheap.

A keyframe holds the simulation (`simcore.keyframe.Keyframe`), the frame of its tick and the
frame-hash chain's state, so that restoring it and replaying forward gives the frames, events and
`frame_hash` a replay from tick 0 would. It is only a cache: share links still replay from the
scenario.

Regular keyframes are kept every `every` ticks. When they exceed the memory cap, `every` doubles and
the ones off the new grid go (thinning keeps the spacing even at any run length). A backward seek
also leaves *extra* keyframes at each tick just before its target, so that stepping back again and
again is a restore each time, not a replay; extras use at most an eighth of the cap (the newest
seek's, nearest its target, are kept) and regular ones the rest. A live action at tick T makes
every keyframe at T or later stale: they are discarded.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from app.chart_history import HistorySnapshot
from simcore import Frame, Keyframe, RunHash

#: at most this many extra keyframes are left before a backward seek's target
EXTRA_MAX = 32
#: extra keyframes use at most 1/EXTRA_SHARE of the cap, regular ones the rest
EXTRA_SHARE = 8


def frame_nbytes(frame: Frame) -> int:
    """The bytes a frame's arrays hold (the rest is small)."""
    return sum(v.nbytes for v in (getattr(frame, f.name) for f in fields(frame)) if isinstance(v, np.ndarray))


@dataclass(frozen=True, slots=True)
class RunKeyframe:
    sim: Keyframe
    frame: Frame
    hasher: RunHash  # the chain after this tick's record
    hash_before: RunHash  # the chain before it (a live action at this tick recomputes the last link)
    history: HistorySnapshot  # the charts' samples up to this tick

    @property
    def tick(self) -> int:
        return self.sim.tick

    @property
    def nbytes(self) -> int:
        return self.sim.nbytes + frame_nbytes(self.frame)


class KeyframeStore:
    def __init__(self, every: int, cap_bytes: int) -> None:
        self.every = max(1, every)
        self.cap_bytes = cap_bytes
        self.regular: dict[int, RunKeyframe] = {}
        self.extra: dict[int, RunKeyframe] = {}
        self.batch_of: dict[int, int] = {}  # extra keyframe's tick -> the backward seek that left it
        self.batch = 0
        self.nbytes = 0

    def __len__(self) -> int:
        return len(self.regular) + len(self.extra)

    def wants(self, tick: int) -> bool:
        return self.cap_bytes > 0 and tick % self.every == 0 and tick not in self.regular

    def add(self, kf: RunKeyframe, extra: bool = False) -> None:
        tick = kf.tick
        if self.cap_bytes <= 0 or tick in self.regular or tick in self.extra:
            return
        if extra and tick % self.every:
            self.extra[tick] = kf
            self.batch_of[tick] = self.batch
        else:
            self.regular[tick] = kf
        self.nbytes += kf.nbytes
        while self.extra and self._extra_nbytes() > self.cap_bytes // EXTRA_SHARE:
            # out first: an older seek's, then the farthest below the target
            self._drop(self.extra, min(self.extra, key=lambda t: (self.batch_of[t], t)))
        while self.nbytes - self._extra_nbytes() > self._regular_cap() and len(self.regular) > 1:
            self.every *= 2
            for t in [t for t in self.regular if t % self.every]:
                self._drop(self.regular, t)
        if self.nbytes > self.cap_bytes:  # a single keyframe larger than the cap
            self.clear()

    def new_batch(self) -> None:
        """A backward seek starts: the extra keyframes it leaves are kept before older ones."""
        self.batch += 1

    def extra_room(self, nbytes: int) -> int:
        """How many extra keyframes of about `nbytes` each fit in their share (at most EXTRA_MAX)."""
        return max(0, min(EXTRA_MAX, self.cap_bytes // EXTRA_SHARE // max(nbytes, 1)))

    def has(self, tick: int) -> bool:
        return tick in self.regular or tick in self.extra

    def at_or_before(self, tick: int) -> RunKeyframe | None:
        best = max((t for t in (*self.regular, *self.extra) if t <= tick), default=None)
        if best is None:
            return None
        return self.regular.get(best) or self.extra[best]

    def discard_from(self, tick: int) -> None:
        """History diverges at `tick` (a live action): keyframes at it or later are stale."""
        for store in (self.regular, self.extra):
            for t in [t for t in store if t >= tick]:
                self._drop(store, t)

    def clear(self) -> None:
        self.regular.clear()
        self.extra.clear()
        self.batch_of.clear()
        self.nbytes = 0

    def _drop(self, store: dict[int, RunKeyframe], tick: int) -> None:
        self.nbytes -= store.pop(tick).nbytes
        if store is self.extra:
            del self.batch_of[tick]

    def _regular_cap(self) -> int:
        return self.cap_bytes - self.cap_bytes // EXTRA_SHARE

    def _extra_nbytes(self) -> int:
        return sum(kf.nbytes for kf in self.extra.values())
