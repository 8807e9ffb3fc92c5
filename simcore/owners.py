"""Owners of allocations: processes (or the kernel) and the streams of allocations they make.

A *stream* is every live allocation that one owner made for one allocation class from one source
(a workload mix entry or a timeline action's group). It keeps its allocations' head pfns in a list
with an index map, so that a uniformly random member can be picked, removed, or moved (migration
changes a head pfn) in O(1). Exponential lifetimes are modelled by that uniform choice: with
memoryless lifetimes, every live allocation of a stream is equally likely to be the next to die.
"""

from __future__ import annotations

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


@dataclass(slots=True)
class Stream:
    sid: int
    name: str
    owner: int  # pid; 0 is the kernel
    kind: int  # PageKind
    lifetime: float  # mean lifetime in ticks; 0 means "until freed explicitly"
    pfns: list[int] = field(default_factory=list)
    pos: dict[int, int] = field(default_factory=dict)
    nr_pages: int = 0

    def __len__(self) -> int:
        return len(self.pfns)

    def add(self, pfn: int, nr_pages: int) -> None:
        self.pos[pfn] = len(self.pfns)
        self.pfns.append(pfn)
        self.nr_pages += nr_pages

    def remove(self, pfn: int, nr_pages: int) -> None:
        i = self.pos.pop(pfn)
        last = self.pfns.pop()
        if last != pfn:
            self.pfns[i] = last
            self.pos[last] = i
        self.nr_pages -= nr_pages

    def replace(self, old: int, new: int) -> None:
        i = self.pos.pop(old)
        self.pfns[i] = new
        self.pos[new] = i
