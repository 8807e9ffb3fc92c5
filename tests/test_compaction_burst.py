"""The fused common turn (simcore.compaction.burst) leaves exactly what `step()` would.

Each case runs twice on the same seed, one way and the other, and compares everything: page
arrays, pageblock bits, every free list in its order, streams, counters, every event with its
fields, the cursors and the trails.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from test_compaction_outcome import _bench, digest

from app.presets import load_scenario
from simcore.compaction import burst, run
from simcore.compaction.context import Compactor, CompactSettings
from simcore.compaction.run import CompactionRun
from simcore.compaction.triggers import manual_control
from simcore.constants import PAGEBLOCK_ORDER, MigrateType, PageKind
from simcore.invariants import check
from simcore.node import Node
from simcore.simulation import Simulation


def _unfused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every turn through `CompactionRun.step()`."""
    monkeypatch.setattr(run, "fusable", lambda c, cc: False)


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
        (1 << 14, 14, 0.25, _in_bursts(1)),  # the dashboard's step button
        (1 << 14, 15, 0.0, _in_bursts(7)),  # paced: a few turns a tick
        (1 << 15, 16, 0.25, _in_bursts(100)),
    ],
)
def test_fused_turns_equal_single_steps(
    monkeypatch: pytest.MonkeyPatch,
    pages: int,
    seed: int,
    free_share: float,
    drive: Callable[[CompactionRun], None],
) -> None:
    calls = []
    real = burst.common_steps

    def counting(c: Compactor, cc: object, limit: int) -> tuple[int, bool]:
        got = real(c, cc, limit)  # type: ignore[arg-type]
        calls.append(got[0])
        return got

    with monkeypatch.context() as m:
        m.setattr(run, "common_steps", counting)
        fused = _manual(_state(pages, seed, free_share), drive)
    assert sum(calls) > 0  # the fused path did run
    with monkeypatch.context() as m:
        _unfused(m)
        single = _manual(_state(pages, seed, free_share), drive)
    assert fused == single


def test_fused_turns_leave_scenarios_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
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

        fused = hashed()
        with monkeypatch.context() as m:
            _unfused(m)
            single = hashed()
        assert fused == single, name
        assert fused[1]["pgmigrate_success"] > 0
