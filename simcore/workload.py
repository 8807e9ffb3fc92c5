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
from simcore.node import Node
from simcore.scenario import WorkloadSpec

GAIN = 8.0
BATCH = 1 << 15


class Uniforms:
    """Uniform [0, 1) floats drawn from one Generator in batches, handed out one at a time."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.buf: list[float] = []
        self.i = 0

    def refill(self) -> None:
        self.buf = self.rng.random(BATCH).tolist()
        self.i = 0

    def take(self, n: int) -> list[float]:
        """The next n uniforms as a list."""
        out: list[float] = []
        while n > 0:
            if self.i >= len(self.buf):
                self.refill()
            k = min(n, len(self.buf) - self.i)
            out.extend(self.buf[self.i : self.i + k])
            self.i += k
            n -= k
        return out


class Workload:
    def __init__(self, node: Node, spec: WorkloadSpec, uniforms: Uniforms) -> None:
        self.node = node
        self.u = uniforms
        self.spec = spec
        self.sids: list[int] = []
        self.kinds: list[int] = []
        self.order_cum: list[list[float]] = []
        self.order_vals: list[list[int]] = []
        self.inv_life: list[float] = []
        for s in spec.streams:
            owner = node.process(s.owner) if s.owner != "kernel" else 0
            kind = CLASS_BY_NAME[s.alloc_class]
            st = node.stream(owner, s.name, kind, s.lifetime)
            self.sids.append(st.sid)
            self.kinds.append(kind)
            total = sum(s.orders.values())
            self.order_vals.append(list(s.orders))
            self.order_cum.append([c / total for c in accumulate(s.orders.values())])
            self.inv_life.append(1.0 / s.lifetime)
        wsum = sum(s.weight for s in spec.streams) or 1.0
        self.stream_cum = [c / wsum for c in accumulate(s.weight for s in spec.streams)]
        self.events_per_tick = spec.events_per_tick
        self.target = spec.target_occupancy
        self.allocs = 0
        self.frees = 0
        self.failures = 0

    def run_tick(self) -> None:
        n = self.events_per_tick
        if n == 0 or not self.sids:
            return
        node = self.node
        u = self.u.take(3 * n)
        managed = node.managed_pages
        allocated = node.allocated_pages
        streams = node.streams
        sids = self.sids
        kinds = self.kinds
        stream_cum = self.stream_cum
        order_cum = self.order_cum
        order_vals = self.order_vals
        inv_life = self.inv_life
        target = self.target
        alloc_pages = node.alloc_pages
        free_alloc = node.free_alloc
        nstreams = len(sids)
        last = nstreams - 1
        allocs = frees = fails = 0
        for i in range(0, 3 * n, 3):
            p_alloc = 0.5 + GAIN * (target - allocated / managed)
            if u[i] < p_alloc:
                j = bisect_right(stream_cum, u[i + 1])
                if j > last:
                    j = last
                oc = order_cum[j]
                k = bisect_right(oc, u[i + 2])
                order = order_vals[j][k if k < len(oc) else -1]
                if alloc_pages(order, kinds[j], sids[j]) >= 0:
                    allocated += 1 << order
                    allocs += 1
                else:
                    fails += 1
            else:
                # pick a stream by death rate: live allocations / mean lifetime
                total = 0.0
                for j in range(nstreams):
                    total += len(streams[sids[j]].pfns) * inv_life[j]
                if total <= 0.0:
                    continue
                x = u[i + 1] * total
                j = 0
                acc = len(streams[sids[0]].pfns) * inv_life[0]
                while acc <= x and j < last:
                    j += 1
                    acc += len(streams[sids[j]].pfns) * inv_life[j]
                pfns = streams[sids[j]].pfns
                if not pfns:
                    continue
                pfn = pfns[int(u[i + 2] * len(pfns))]
                allocated -= free_alloc(pfn)
                frees += 1
        self.allocs += allocs
        self.frees += frees
        self.failures += fails
