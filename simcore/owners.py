"""Owners of allocations: processes (or the kernel) and the streams of allocations they make.

A *stream* is every live allocation that one owner made for one allocation class from one source
(a workload mix entry or a timeline action's group). It keeps its allocations' head pfns in an array
with a position index, so that a uniformly random member can be picked, removed, or moved (migration
changes a head pfn) in O(1). The arrays of all of a node's streams live in one `StreamStore`: flat
numpy buffers the compiled workload loop (`simcore.kernels.alloc`) reads and writes directly.
Exponential lifetimes are modelled by that uniform choice: with memoryless lifetimes, every live
allocation of a stream is equally likely to be the next to die.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

KERNEL_PID = 0


@dataclass(slots=True)
class Process:
    """A simulated task. Later issues add rss accounting, oom_score_adj policies and notifications."""

    pid: int
    comm: str
    oom_score_adj: int = 0
    start_tick: int = 0
    alive: bool = True


class StreamStore:
    """The pfn arrays of every stream of a node, in one arena.

    Stream ``sid`` holds ``length[sid]`` head pfns at ``arena[start[sid] : start[sid] + length[sid]]``
    with room for ``cap[sid]``; ``pages[sid]`` is its page count. A full stream moves to the end of
    the arena with twice the room (the arena doubles when that end is reached and is compacted as it
    does), so appends are amortised O(1). Kernels get the arrays as they are at the call: they stay
    valid while no stream grows, and `reserve()` makes room ahead of a compiled loop.
    """

    def __init__(self) -> None:
        self.arena = np.zeros(1024, dtype=np.uint32)
        self.top = 0  # the arena is free from here on
        self.start = np.zeros(16, dtype=np.int64)
        self.cap = np.zeros(16, dtype=np.int64)
        self.length = np.zeros(16, dtype=np.int64)
        self.pages = np.zeros(16, dtype=np.int64)
        self.nr = 0

    def new(self) -> int:
        """A new empty stream; its sid."""
        sid = self.nr
        if sid == len(self.start):
            for name in ("start", "cap", "length", "pages"):
                old = getattr(self, name)
                grown = np.zeros(2 * len(old), dtype=np.int64)
                grown[: len(old)] = old
                setattr(self, name, grown)
        self.nr = sid + 1
        self.start[sid] = self.top
        return sid

    def reserve(self, sid: int, room: int) -> None:
        """Make room for `room` more pfns in stream `sid`."""
        n = int(self.length[sid])
        if n + room <= self.cap[sid]:
            return
        cap = max(16, 2 * int(self.cap[sid]), n + room)
        if self.top + cap > len(self.arena):
            self._compact(sid, cap)
            return
        s = int(self.start[sid])
        self.arena[self.top : self.top + n] = self.arena[s : s + n]
        self.start[sid] = self.top
        self.cap[sid] = cap
        self.top += cap

    def _compact(self, grow_sid: int, grow_cap: int) -> None:
        """A new arena (at least twice as large) with every stream packed, `grow_sid` given `grow_cap`."""
        caps = self.cap[: self.nr].copy()
        caps[grow_sid] = grow_cap
        need = int(caps.sum())
        arena = np.zeros(max(2 * len(self.arena), 2 * need), dtype=np.uint32)
        top = 0
        for sid in range(self.nr):
            s, n = int(self.start[sid]), int(self.length[sid])
            arena[top : top + n] = self.arena[s : s + n]
            self.start[sid] = top
            self.cap[sid] = caps[sid]
            top += int(caps[sid])
        self.arena = arena
        self.top = top

    def view(self, sid: int) -> np.ndarray:
        """Stream `sid`'s pfns as a numpy view (valid until the stream grows)."""
        s = int(self.start[sid])
        return self.arena[s : s + int(self.length[sid])]


class StreamPfns:
    """``Stream.pfns``: one stream's head pfns in the `StreamStore`, with a list's interface
    (``len``, truth, indexing, iteration, ``append``, ``pop``). It stays valid when the stream's
    storage moves, so hot loops may keep a reference to it."""

    __slots__ = ("sid", "store")

    def __init__(self, store: StreamStore, sid: int) -> None:
        self.store = store
        self.sid = sid

    def __len__(self) -> int:
        return int(self.store.length[self.sid])

    def __bool__(self) -> bool:
        return bool(self.store.length[self.sid])

    def _at(self, i: int) -> int:
        n = int(self.store.length[self.sid])
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"stream index out of range (got {i}, length {n})")
        return int(self.store.start[self.sid]) + i

    def __getitem__(self, i: int) -> int:
        return int(self.store.arena[self._at(i)])

    def __setitem__(self, i: int, pfn: int) -> None:
        self.store.arena[self._at(i)] = pfn

    def __iter__(self) -> Iterator[int]:
        return iter(self.store.view(self.sid).tolist())

    def __bytes__(self) -> bytes:
        """The pfns as 4-byte native integers (what ``bytes(array("I", pfns))`` gives)."""
        return self.store.view(self.sid).tobytes()

    def tolist(self) -> list[int]:
        return self.store.view(self.sid).tolist()  # type: ignore[no-any-return]

    def view(self) -> np.ndarray:
        """The pfns as a numpy view, valid until the stream next grows."""
        return self.store.view(self.sid)

    def append(self, pfn: int) -> None:
        store = self.store
        sid = self.sid
        store.reserve(sid, 1)
        n = int(store.length[sid])
        store.arena[int(store.start[sid]) + n] = pfn
        store.length[sid] = n + 1

    def pop(self) -> int:
        """Remove and return the last pfn."""
        i = self._at(-1)
        self.store.length[self.sid] -= 1
        return int(self.store.arena[i])


@dataclass(slots=True, eq=False)
class Stream:
    """The live allocations of one owner and class: head pfns in the node's `StreamStore`.

    ``where[pfn]`` is the position of the allocation headed at `pfn` in ``pfns``: the node's per-pfn
    array (`Node.alloc_index`), shared among its streams. Entries for pfns not in the stream are
    stale and never trusted alone: `position` checks ``pfns[where[pfn]] == pfn``.
    """

    sid: int
    name: str
    owner: int  # pid; 0 is the kernel
    kind: int  # PageKind
    lifetime: float  # mean lifetime in ticks; 0 means "until freed explicitly"
    store: StreamStore
    where: array[int]

    @property
    def pfns(self) -> StreamPfns:
        return StreamPfns(self.store, self.sid)

    @property
    def nr_pages(self) -> int:
        return int(self.store.pages[self.sid])

    @nr_pages.setter
    def nr_pages(self, value: int) -> None:
        self.store.pages[self.sid] = value

    def position(self, pfn: int) -> int | None:
        """The position of the allocation headed at `pfn` in ``pfns``, or None if not a member."""
        i = self.where[pfn] if 0 <= pfn < len(self.where) else -1
        store = self.store
        if 0 <= i < store.length[self.sid] and store.arena[store.start[self.sid] + i] == pfn:
            return i
        return None

    def __len__(self) -> int:
        return int(self.store.length[self.sid])

    def add(self, pfn: int, nr_pages: int) -> None:
        self.where[pfn] = len(self)
        self.pfns.append(pfn)
        self.store.pages[self.sid] += nr_pages

    def remove(self, pfn: int, nr_pages: int) -> None:
        i = self.position(pfn)
        if i is None:
            raise KeyError(pfn)
        pfns = self.pfns
        last = pfns.pop()
        if last != pfn:
            pfns[i] = last
            self.where[last] = i
        self.store.pages[self.sid] -= nr_pages

    def replace(self, old: int, new: int) -> None:
        """The allocation headed at `old` (a member: KeyError if not) now heads at `new`."""
        i = self.position(old)
        if i is None:
            raise KeyError(old)
        self.pfns[i] = new
        self.where[new] = i
