"""A burst of steps leaves exactly what the same steps taken one at a time would.

Within a burst the scanners keep their per-window candidates and the frees of migrated-from pages
wait (`Compactor.new_epoch`, `migrate.flush_sources`); a step on its own does neither. Each case
runs twice on the same seed, one way and the other, and compares everything: page arrays,
pageblock bits, every free list in its order, streams, counters, every event with its fields, the
cursors and the trails.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from test_compaction_outcome import _bench, digest

from app.presets import load_scenario
from simcore.compaction.context import Compactor, CompactSettings
from simcore.compaction.run import CompactionRun
from simcore.compaction.triggers import manual_control
from simcore.constants import PAGEBLOCK_ORDER, MigrateType, PageKind
from simcore.invariants import check
from simcore.node import Node
from simcore.simulation import Simulation


def _one_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every burst cut into bursts of one step."""
    real = CompactionRun.advance

    def advance(self: CompactionRun, n: int) -> object:
        ret = None
        for _ in range(n):
            ret = real(self, 1)
            if self.done:
                break
        return ret

    def run_all(self: CompactionRun) -> object:
        if not self.started and not self.done and self.begin() != 4:
            return self.result
        while not self.done:
            real(self, 1)
        return self.result

    monkeypatch.setattr(CompactionRun, "advance", advance)
    monkeypatch.setattr(CompactionRun, "run", run_all)


def _compound_state(pages: int, seed: int, free_share: float) -> Node:
    """The benchmark's state with some order-1..3 movable allocations and `free_share` of the
    pages free: batches with compound pages, and (when memory is short) the watermark and a
    shortage of destinations."""
    node = _bench().build(pages, seed)
    zone = node.zones[0]
    rng = np.random.default_rng(seed)
    sid = node.stream(node.process("compound"), "anon_thp", PageKind.ANON).sid
    # free pages become order-1..3 anon allocations where a whole aligned free block exists
    for order in (3, 2, 1):
        for pfn in list(zone.free_area[order][int(MigrateType.MOVABLE)]):
            if rng.random() < 0.5:
                zone.del_free_block(pfn, order)
                node.commit_alloc(pfn, order, PageKind.ANON, sid)
    # then fill free pages until only free_share of the zone is free
    want_free = int(pages * free_share)
    anon = node.stream(node.process("filler"), "anon", PageKind.ANON).sid
    while zone.free_pages > want_free:
        pfn = zone.rmqueue_smallest(0, int(MigrateType.MOVABLE))
        if pfn < 0:
            break
        node.commit_alloc(pfn, 0, PageKind.ANON, anon)
    check(node)
    return node


def _state(pages: int, seed: int, free_share: float) -> Node:
    """The benchmark's state, or with compound pages and `free_share` free when that is given."""
    if free_share:
        return _compound_state(pages, seed, free_share)
    return _bench().build(pages, seed)


def _manual(node: Node, drive: Callable[[CompactionRun], None]) -> str:
    zone = node.zones[0]
    c = Compactor(node, CompactSettings(), np.zeros(zone.end_pfn >> PAGEBLOCK_ORDER, dtype=np.uint8))
    r = CompactionRun(c, manual_control(zone))
    drive(r)
    check(node)
    return digest(node, r, c)


def _to_end(r: CompactionRun) -> None:
    r.run()


def _in_bursts(size: int) -> Callable[[CompactionRun], None]:
    def drive(r: CompactionRun) -> None:
        r.begin()
        while not r.done:
            r.advance(size)

    return drive


@pytest.mark.parametrize(
    ("pages", "seed", "free_share", "drive"),
    [
        (1 << 15, 11, 0.0, _to_end),  # the benchmark's state: free share as built (40 %)
        (1 << 15, 12, 0.25, _to_end),  # compound pages among the order-0 ones
        (1 << 15, 13, 0.05, _to_end),  # short of memory
        (1 << 15, 17, 0.02, _to_end),  # free pages just above min: the watermark, -ENOMEM
        (1 << 14, 14, 0.25, _in_bursts(2)),
        (1 << 14, 15, 0.0, _in_bursts(7)),  # paced: a few turns a tick
        (1 << 15, 16, 0.25, _in_bursts(100)),
    ],
)
def test_a_burst_equals_single_steps(
    monkeypatch: pytest.MonkeyPatch,
    pages: int,
    seed: int,
    free_share: float,
    drive: Callable[[CompactionRun], None],
) -> None:
    burst = _manual(_state(pages, seed, free_share), drive)
    with monkeypatch.context() as m:
        _one_at_a_time(m)
        single = _manual(_state(pages, seed, free_share), drive)
    assert burst == single


def test_bursts_leave_scenarios_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    # paced manual compaction (fragmented-zone: 16 turns a tick), and direct compaction with
    # kcompactd (compaction-vs-lumpy), both shrunk
    cases = [
        ("fragmented-zone", ["node.zones.0.pages=32768", "workload.events_per_tick=400"], 260),
        ("compaction-vs-lumpy", ["node.zones.0.pages=65536", "workload.events_per_tick=1500"], 95),
    ]
    for name, overrides, ticks in cases:

        def hashed() -> tuple[bytes, dict[str, int], list[tuple[str, int, dict[str, object]]]]:
            sim = Simulation(load_scenario(name, overrides))  # noqa: B023
            sim.run_until(ticks)  # noqa: B023
            events = [(ev.name, ev.tick, ev.fields()) for ev in sim.node.events]
            return sim.frame().digest(), dict(sim.vmstat()), events

        burst = hashed()
        with monkeypatch.context() as m:
            _one_at_a_time(m)
            single = hashed()
        assert burst == single, name
        assert burst[1]["pgmigrate_success"] > 0
