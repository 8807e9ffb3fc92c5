"""Random operation sequences on small multi-zone nodes, with the invariant checker after each one.

Operations: single allocations of any class and order through the full allocation path, frees of
random live allocations, workload ticks, and timeline actions (fill, free every other, free a
group, bulk high-order requests, settings changes, manual compaction).
"""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from simcore.actions import (
    AllocAction,
    CompactAction,
    FillAction,
    FreeEveryOtherAction,
    FreeGroupAction,
    SetAction,
)
from simcore.constants import CLASS_BY_NAME, MAX_PAGE_ORDER
from simcore.invariants import check
from simcore.scenario import ScenarioError, validate_scenario
from simcore.simulation import Simulation

CLASSES = sorted(CLASS_BY_NAME)
GROUPS = ("g1", "g2")

ZONE_LAYOUTS = [
    [{"name": "Normal", "pages": 2048}],
    [{"name": "DMA", "pages": 1024}, {"name": "DMA32", "pages": 2048}, {"name": "Normal", "pages": 3072}],
    [{"name": "DMA32", "pages": 1536}, {"name": "Normal", "pages": 2560}],
]


def make_sim(layout: int, seed: int, occupancy: float, mode: str) -> Simulation:
    return Simulation(validate_scenario({
        "name": "hypothesis",
        "seed": seed,
        "mode": mode,
        "node": {"zones": ZONE_LAYOUTS[layout]},
        "vm": {"min_free_kbytes": 128},
        "workload": {"events_per_tick": 60, "target_occupancy": occupancy, "streams": [
            {"name": "anon", "class": "anon", "weight": 4, "orders": {0: 70, 1: 10, 3: 10, 9: 2},
             "lifetime": 8, "owner": "app"},
            {"name": "cache", "class": "pagecache", "weight": 2, "lifetime": 20, "owner": "app"},
            {"name": "slab", "class": "slab_unmovable", "weight": 2, "orders": {0: 6, 2: 3, 4: 1},
             "lifetime": 15},
            {"name": "dentry", "class": "slab_reclaimable", "weight": 1, "orders": {0: 4, 1: 1},
             "lifetime": 30},
            {"name": "pt", "class": "pagetable", "weight": 1, "lifetime": 10},
        ]},
    }))


orders = st.integers(0, MAX_PAGE_ORDER)
operations = st.one_of(
    st.tuples(st.just("alloc"), orders, st.sampled_from(CLASSES)),
    st.tuples(st.just("free"), st.floats(0, 1, exclude_max=True)),
    st.tuples(st.just("tick"), st.integers(1, 3)),
    st.tuples(st.just("fill"), st.sampled_from(GROUPS), st.floats(0.05, 0.9), st.integers(0, 4),
              st.sampled_from(["anon", "slab_unmovable", "slab_reclaimable", "pagecache"])),
    st.tuples(st.just("free_every_other"), st.sampled_from(GROUPS)),
    st.tuples(st.just("free_group"), st.sampled_from(GROUPS)),
    st.tuples(st.just("alloc_action"), st.integers(2, 10), st.integers(1, 12),
              st.sampled_from(["huge", "kernel"])),
    st.tuples(st.just("set"), st.sampled_from(["vm.watermark_scale_factor", "vm.watermark_boost_factor"]),
              st.integers(1, 3000)),
    st.tuples(st.just("compact"), st.booleans()),
)


def perform(sim: Simulation, op: tuple[Any, ...]) -> None:
    node = sim.node
    kind = op[0]
    if kind == "alloc":
        cls = CLASS_BY_NAME[op[2]]
        sid = node.stream(node.process("prober"), f"probe-{op[2]}", cls).sid
        node.alloc_pages(op[1], cls, sid)
    elif kind == "free":
        heads = [p for s in node.streams for p in s.pfns]
        if heads:
            node.free_alloc(sorted(heads)[int(op[1] * len(heads))])
    elif kind == "tick":
        for _ in range(op[1]):
            sim.step()
    elif kind == "fill":
        sim.apply(FillAction(group=op[1], fraction=op[2], order=op[3], alloc_class=op[4]))
    elif kind == "free_every_other":
        sim.apply(FreeEveryOtherAction(group=op[1]))
    elif kind == "free_group":
        sim.apply(FreeGroupAction(group=op[1]))
    elif kind == "alloc_action":
        sim.apply(AllocAction(order=op[1], count=op[2], alloc_class=op[3]))
    elif kind == "set":
        # a value out of this key's own bounds is rejected and changes nothing
        with contextlib.suppress(ScenarioError):
            sim.apply(SetAction(key=op[1], value=op[2]))
    elif kind == "compact":
        sim.apply(CompactAction(step=op[1]))


@settings(max_examples=150, deadline=None)
@given(
    layout=st.integers(0, len(ZONE_LAYOUTS) - 1),
    seed=st.integers(0, 2**32),
    occupancy=st.sampled_from([0.3, 0.7, 0.95]),
    mode=st.sampled_from(["modern", "2.6.35"]),
    ops=st.lists(operations, min_size=1, max_size=40),
)
def test_invariants_hold_after_every_operation(
    layout: int, seed: int, occupancy: float, mode: str, ops: list[tuple[Any, ...]]
) -> None:
    sim = make_sim(layout, seed, occupancy, mode)
    check(sim.node)
    for op in ops:
        perform(sim, op)
        check(sim.node)
    # the counters agree with the arrays at the end
    vm = sim.vmstat()
    assert vm["nr_free_pages"] == sum(z.free_pages for z in sim.node.zones)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32), ops=st.lists(st.tuples(orders, st.sampled_from(CLASSES)), max_size=60))
def test_alloc_then_free_everything_restores_the_boot_free_lists(
    seed: int, ops: list[tuple[int, str]]
) -> None:
    sim = make_sim(1, seed, 0.5, "modern")
    node = sim.node
    boot = [z.nr_free_per_order() for z in node.zones]
    sid = {c: node.stream(node.process("p"), c, CLASS_BY_NAME[c]).sid for c in CLASSES}
    for order, cls in ops:
        node.alloc_pages(order, CLASS_BY_NAME[cls], sid[cls])
    check(node)
    for s in node.streams:
        for pfn in list(s.pfns):
            node.free_alloc(pfn)
    check(node)
    # every page is free again and fully merged (pageblock types may have changed, sizes not)
    assert [z.nr_free_per_order() for z in node.zones] == boot
    assert node.free_pages == node.nr_pages
