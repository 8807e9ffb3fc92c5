"""The workload generator: allocation and free events per tick, driven by the scenario's mix.

Each tick runs `events_per_tick` events. An event allocates with probability
``0.5 + GAIN * (target_occupancy - occupancy)`` (clamped to [0, 1]), so occupancy hovers around the
target; otherwise it frees. An allocation picks a stream by weight and an order from the stream's
order distribution. A free picks a stream with probability proportional to
``live allocations / mean lifetime`` and then a uniformly random live allocation of it, which is
exactly an exponential lifetime per allocation. Random numbers come in batches from the
simulation's one generator; only comparisons and arithmetic on them, no transcendental math, so
runs repeat bit for bit on any machine with the same numpy.
"""

from __future__ import annotations

from bisect import bisect_right
from itertools import accumulate

import numpy as np

from simcore.constants import CLASS_BY_NAME
from simcore.kernels.alloc import EVENTS_DONE, FAST_MISS, pick_entry, run_events
from simcore.node import Node
from simcore.scenario import WorkloadSpec

GAIN = 8.0
BATCH = 1 << 15


class Uniforms:
    """Uniform [0, 1) floats drawn from one Generator in batches, handed out in order."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.buf = np.empty(0)
        self.i = 0

    def take_array(self, n: int) -> np.ndarray:
        """The next n uniforms as a float64 array (a view: the batch is replaced, never written).

        Large requests are drawn from the generator in one call; since each float64 consumes one
        64-bit output, the values handed out are the generator's stream in order whatever the
        batch sizes, exactly as if they had come one batch at a time.
        """
        i = self.i
        rest = len(self.buf) - i
        if n <= rest:
            self.i = i + n
            return self.buf[i : i + n]
        fresh = self.rng.random(n - rest + BATCH)
        out = np.concatenate((self.buf[i:], fresh[: n - rest]))
        self.buf = fresh
        self.i = n - rest
        return out

    def take(self, n: int) -> list[float]:
        """The next n uniforms as a list."""
        return self.take_array(n).tolist()  # type: ignore[no-any-return]


class Workload:
    """Runs the scenario's mix of streams: `events_per_tick` allocation or free events a tick.

    The allocation choice is one table over every (stream, order) pair, weighted by the stream's
    weight times the order's share, searched with one bisection. The free choice keeps each
    stream's live count and the total death rate ``sum(live / lifetime)`` up to date as events
    happen, and recomputes them exactly at each tick's start and whenever control has left the
    allocator's fast path (the slow path may reclaim, kill or compact, and so change streams).
    """

    def __init__(self, node: Node, spec: WorkloadSpec, uniforms: Uniforms) -> None:
        self.node = node
        self.u = uniforms
        self.spec = spec
        self.sids: list[int] = []
        self.inv_life: list[float] = []
        #: (stream index, order, kind, sid) per entry of the allocation table, and its cumulative weights
        self.picks: list[tuple[int, int, int, int]] = []
        self.pick_cum: list[float] = []
        wsum = sum(s.weight for s in spec.streams) or 1.0
        weights: list[float] = []
        for j, s in enumerate(spec.streams):
            owner = node.process(s.owner) if s.owner != "kernel" else 0
            kind = CLASS_BY_NAME[s.alloc_class]
            st = node.stream(owner, s.name, kind, s.lifetime)
            self.sids.append(st.sid)
            self.inv_life.append(1.0 / s.lifetime)
            total = sum(s.orders.values())
            for order, w in s.orders.items():
                if w > 0:
                    self.picks.append((j, order, kind, st.sid))
                    weights.append(s.weight / wsum * w / total)
        self.pick_cum = list(accumulate(weights))
        if self.pick_cum:
            # uniforms are < 1: rounding in the sum must not leave a gap at the top
            self.pick_cum[-1] = 2.0
        self.pick_cum_array = np.array(self.pick_cum, dtype=np.float64)
        #: the mix as `run_events` takes it
        self.mix = (
            np.array(self.sids, dtype=np.int64),
            np.array(self.inv_life, dtype=np.float64),
            self.pick_cum_array,
            np.array([p[0] for p in self.picks], dtype=np.int64),
            np.array([p[1] for p in self.picks], dtype=np.int64),
            np.array([p[2] for p in self.picks], dtype=np.int64),
        )
        self.events_per_tick = spec.events_per_tick
        self.target = spec.target_occupancy
        self.allocs = 0
        self.frees = 0
        self.failures = 0

    def run_tick(self) -> None:
        """One tick of events. Each event takes three uniforms: alloc-or-free, which, and whom.

        An event allocates when ``u < 0.5 + GAIN * (target - occupancy)``. An allocation picks a
        (stream, order) entry by weight. A free picks a stream with probability proportional to
        ``live allocations / mean lifetime``, then a uniformly random live allocation of it.

        The events run compiled (`simcore.kernels.alloc.run_events`) until one needs more than the
        allocator's fast path; that allocation runs here, through the full `alloc_pages()`, which
        may reclaim, kill or compact and so change any stream, and the loop goes on recounted.
        """
        n = self.events_per_tick
        if n == 0 or not self.sids:
            return
        node = self.node
        store = node.stream_store
        mix = self.mix
        pa = 0.5 + GAIN * self.target  # p_alloc = pa - pb * allocated
        pb = GAIN / node.managed_pages
        u = self.u.take_array(3 * n)
        live = np.zeros(len(self.sids), dtype=np.int64)
        allocated = node.allocated_pages
        rate = 0.0
        i = 0
        while True:
            for sid in self.sids:  # every event appends at most one allocation
                store.reserve(sid, n - i)
            pages, lists, streams, counters, zgeo, pref = node.kernel_state()
            status, i, allocated, rate, allocs, frees = run_events(
                pages, lists, streams, counters, zgeo, pref, mix, live, u, i, pa, pb, allocated, True, rate
            )
            self.allocs += allocs
            self.frees += frees
            if status == EVENTS_DONE:
                return
            _, order, kind, sid = self.picks[pick_entry(self.pick_cum_array, u[3 * i + 1])]
            if node.alloc_pages(order, kind, sid) >= 0:
                self.allocs += 1
            else:
                self.failures += 1
            allocated = node.allocated_pages
            i += 1

    def run_tick_reference(self) -> None:
        """`run_tick()` event by event in Python through the node's entry points
        (`Node.alloc_pages_fast`, `Node.alloc_pages`, `Node.free_alloc_at`): the reference the
        compiled loop is tested against, and what tests that wrap those entry points run."""
        n = self.events_per_tick
        if n == 0 or not self.sids:
            return
        node = self.node
        streams = node.streams
        sids = self.sids
        inv_life = self.inv_life
        picks = self.picks
        pick_cum = self.pick_cum
        fast = node.alloc_pages_fast
        alloc_pages = node.alloc_pages
        free_at = node.free_alloc_at
        last = len(sids) - 1
        # Stream.pfns arrays are never rebound, so these references stay valid
        pfn_lists = [streams[sid].pfns for sid in sids]
        managed = node.managed_pages
        # p_alloc = pa - pb * allocated
        pa = 0.5 + GAIN * self.target
        pb = GAIN / managed
        allocated = node.allocated_pages
        live = [len(p) for p in pfn_lists]
        rate = sum(c * il for c, il in zip(live, inv_life, strict=True))
        allocs = frees = fails = 0
        it = iter(self.u.take(3 * n))
        for ua, ub, uc in zip(it, it, it, strict=True):
            if ua < pa - pb * allocated:
                j, order, kind, sid = picks[bisect_right(pick_cum, ub)]
                pfn = fast(order, kind, sid)
                if pfn >= 0:
                    allocated += 1 << order
                    allocs += 1
                    live[j] += 1
                    rate += inv_life[j]
                    continue
                if pfn == FAST_MISS:
                    pfn = alloc_pages(order, kind, sid)
                if pfn >= 0:
                    allocs += 1
                else:
                    fails += 1
                # the slow path may have changed any stream: recount
                allocated = node.allocated_pages
                live = [len(p) for p in pfn_lists]
                rate = sum(c * il for c, il in zip(live, inv_life, strict=True))
            else:
                if rate <= 0.0:
                    continue
                # the stream by death rate: live allocations / mean lifetime
                x = ub * rate
                j = 0
                acc = live[0] * inv_life[0]
                while acc <= x and j < last:
                    j += 1
                    acc += live[j] * inv_life[j]
                c = live[j]
                if not c:
                    continue
                allocated -= free_at(sids[j], int(uc * c))
                frees += 1
                live[j] = c - 1
                rate -= inv_life[j]
        self.allocs += allocs
        self.frees += frees
        self.failures += fails
