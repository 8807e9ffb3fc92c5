"""The in-run baseline of bench_alloc.py: a plain pure-Python buddy allocator and the same workload.

What a careful programmer writes in an afternoon: one migratetype, no watermarks, no counters, no
events; a free list per order as a dict (insertion-ordered set of block heads), a dict from each free
head to its order for the buddy test. The workload has bench_alloc's shape: three uniforms an event,
allocate with probability ``0.5 + 8 * (target - occupancy)``, an (owner stream, order) pick by the
same weights, a free of a uniformly random live allocation of a stream picked by live allocations /
mean lifetime. The zone starts empty and is filled to the target before timing, as the real run is.

zonescope's allocator is compared with this one in the same process and on the same machine, so the
ratio is stable where the absolute rate swings with the machine.
"""

from __future__ import annotations

import random
import time
from bisect import bisect_right
from itertools import accumulate

MAX_ORDER = 10


class PlainBuddy:
    def __init__(self, pages: int) -> None:
        self.free: list[dict[int, None]] = [{} for _ in range(MAX_ORDER + 1)]
        self.order_of: dict[int, int] = {}
        for pfn in range(0, pages, 1 << MAX_ORDER):
            self.free[MAX_ORDER][pfn] = None
            self.order_of[pfn] = MAX_ORDER

    def alloc(self, order: int) -> int:
        free = self.free
        for o in range(order, MAX_ORDER + 1):
            if free[o]:
                pfn, _ = free[o].popitem()
                del self.order_of[pfn]
                while o > order:  # split: the upper halves go back on the lists
                    o -= 1
                    half = pfn + (1 << o)
                    free[o][half] = None
                    self.order_of[half] = o
                return pfn
        return -1

    def release(self, pfn: int, order: int) -> None:
        order_of = self.order_of
        while order < MAX_ORDER:
            buddy = pfn ^ (1 << order)
            if order_of.get(buddy) != order:
                break
            del self.free[order][buddy]
            del order_of[buddy]
            pfn &= ~(1 << order)
            order += 1
        self.free[order][pfn] = None
        order_of[pfn] = order


class PlainWorkload:
    """bench_alloc's mix on a PlainBuddy: `streams` are (weight, {order: weight}, mean lifetime)."""

    def __init__(self, pages: int, streams: list[tuple[float, dict[int, float], int]],
                 target: float, seed: int) -> None:
        self.buddy = PlainBuddy(pages)
        self.pages = pages
        self.target = target
        self.rng = random.Random(seed)
        picks = [(j, order, w * ow)
                 for j, (w, orders, _) in enumerate(streams) for order, ow in orders.items()]
        total = sum(p[2] for p in picks)
        self.picks = [(j, order) for j, order, _ in picks]
        self.pick_cum = list(accumulate(p[2] / total for p in picks))
        self.inv_life = [1.0 / life for _, _, life in streams]
        self.live: list[list[int]] = [[] for _ in streams]  # pfn << 4 | order per live allocation
        self.allocated = 0
        self.events = 0

    def run(self, n: int) -> None:
        """n events (allocation attempts and frees)."""
        buddy = self.buddy
        alloc, release = buddy.alloc, buddy.release
        live, inv_life, picks, pick_cum = self.live, self.inv_life, self.picks, self.pick_cum
        last = len(live) - 1
        pa = 0.5 + 8.0 * self.target
        pb = 8.0 / self.pages
        allocated = self.allocated
        rate = sum(len(lv) * il for lv, il in zip(live, inv_life, strict=True))
        rnd = self.rng.random
        for _ in range(n):
            ua, ub, uc = rnd(), rnd(), rnd()
            if ua < pa - pb * allocated:
                j, order = picks[bisect_right(pick_cum, ub)]
                pfn = alloc(order)
                if pfn >= 0:
                    live[j].append(pfn << 4 | order)
                    allocated += 1 << order
                    rate += inv_life[j]
                continue
            if rate <= 0.0:
                continue
            x = ub * rate
            j = 0
            acc = len(live[0]) * inv_life[0]
            while acc <= x and j < last:
                j += 1
                acc += len(live[j]) * inv_life[j]
            lv = live[j]
            i = int(uc * len(lv))
            entry = lv[i]
            lv[i] = lv[-1]
            lv.pop()
            order = entry & 15
            release(entry >> 4, order)
            allocated -= 1 << order
            rate -= inv_life[j]
        self.allocated = allocated
        self.events += n

    def warm_up(self, chunk: int) -> None:
        while self.allocated / self.pages < self.target - 0.01 and self.events < 10_000 * chunk:
            self.run(chunk)
        self.run(5 * chunk)


def timed_round(w: PlainWorkload, events: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds) for `events` events."""
    c0 = time.process_time()
    t0 = time.perf_counter()
    w.run(events)
    return time.perf_counter() - t0, time.process_time() - c0
