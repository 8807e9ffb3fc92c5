"""Owners of allocations: processes (or the kernel) and the streams of allocations they make.

A *stream* is every live allocation that one owner made for one allocation class from one source
(a workload mix entry or a timeline action's group). It keeps its allocations' head pfns in an array
with a position index, so that a uniformly random member can be picked, removed, or moved (migration
changes a head pfn) in O(1). Exponential lifetimes are modelled by that uniform choice: with
memoryless lifetimes, every live allocation of a stream is equally likely to be the next to die.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field

KERNEL_PID = 0


@dataclass(slots=True)
class Process:
    """A simulated task. Later issues add rss accounting, oom_score_adj policies and notifications."""

    pid: int
    comm: str
    oom_score_adj: int = 0
    start_tick: int = 0
    alive: bool = True


class StreamPositions:
    """Read-only mapping view pfn -> position of a stream's allocations (``Stream.pos``)."""

    __slots__ = ("_stream",)

    def __init__(self, stream: Stream) -> None:
        self._stream = stream

    def get(self, pfn: int, default: int | None = None) -> int | None:
        where = self._stream.where
        if isinstance(where, dict):
            i = where.get(pfn, -1)
        elif 0 <= pfn < len(where):
            i = where[pfn]
        else:
            return default
        pfns = self._stream.pfns
        return i if 0 <= i < len(pfns) and pfns[i] == pfn else default

    def __getitem__(self, pfn: int) -> int:
        i = self.get(pfn)
        if i is None:
            raise KeyError(pfn)
        return i

    def __contains__(self, pfn: object) -> bool:
        return isinstance(pfn, int) and self.get(pfn) is not None

    def __len__(self) -> int:
        return len(self._stream.pfns)


@dataclass(slots=True)
class Stream:
    """The live allocations of one owner and class: head pfns in an array, O(1) pick/add/remove.

    ``pfns`` is a typed array (``array("I")``) rather than a list: picking a random member then
    reads the pfn itself instead of following a pointer to a scattered int object, which matters
    for streams of hundreds of thousands of allocations. It supports what a list of ints does
    here: ``len``, truth, indexing, iteration, ``append`` and ``pop``.

    ``where[pfn]`` is the position of the allocation headed at `pfn` in ``pfns``. A node shares
    one per-pfn array (`Node.alloc_index`) among its streams, which is much cheaper than a dict
    per stream for a million pages; a standalone stream uses its own dict. Entries for pfns not
    in the stream are stale and never trusted alone: `pos` checks ``pfns[where[pfn]] == pfn``.
    ``pfns`` is never rebound, so hot loops may keep a reference to it.
    """

    sid: int
    name: str
    owner: int  # pid; 0 is the kernel
    kind: int  # PageKind
    lifetime: float  # mean lifetime in ticks; 0 means "until freed explicitly"
    pfns: array[int] = field(default_factory=lambda: array("I"))
    nr_pages: int = 0
    where: array[int] | dict[int, int] = field(default_factory=dict)

    @property
    def pos(self) -> StreamPositions:
        """pfn -> position in ``pfns``, for the allocations of this stream only."""
        return StreamPositions(self)

    def __len__(self) -> int:
        return len(self.pfns)

    def add(self, pfn: int, nr_pages: int) -> None:
        self.where[pfn] = len(self.pfns)
        self.pfns.append(pfn)
        self.nr_pages += nr_pages

    def remove(self, pfn: int, nr_pages: int) -> None:
        i = self.pos[pfn]
        last = self.pfns.pop()
        if last != pfn:
            self.pfns[i] = last
            self.where[last] = i
        self.nr_pages -= nr_pages

    def replace(self, old: int, new: int) -> None:
        """The allocation headed at `old` (a member: KeyError if not) now heads at `new`."""
        where = self.where
        pfns = self.pfns
        # (`pos` inlined: migration moves every compound page through here)
        i = where.get(old, -1) if isinstance(where, dict) else (where[old] if 0 <= old < len(where) else -1)
        if not 0 <= i < len(pfns) or pfns[i] != old:
            raise KeyError(old)
        pfns[i] = new
        where[new] = i
