"""`alloc_pages_fast()` / `alloc_fast()` take exactly the decisions of the full `alloc_pages()`."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from simcore import invariants
from simcore.constants import PageKind
from simcore.node import Node
from simcore.page_alloc import FAST_MISS, SlowpathHooks
from simcore.scenario import NodeSpec, VmSpec, ZoneName, ZoneSpec
from simcore.zone import Zone

KINDS = (PageKind.ANON, PageKind.PAGECACHE, PageKind.SLAB_RECLAIMABLE, PageKind.SLAB_UNMOVABLE,
         PageKind.KERNEL, PageKind.HUGE)


class RecordingHooks(SlowpathHooks):
    def __init__(self) -> None:
        self.boosted: list[str] = []

    def after_alloc(self, zone: Zone) -> None:
        self.boosted.append(zone.name)


def new_node(zones: list[tuple[ZoneName, int]]) -> Node:
    spec = NodeSpec(zones=[ZoneSpec(name=n, pages=p) for n, p in zones])
    node = Node(spec, VmSpec(), np.random.default_rng(0))
    node.hooks = RecordingHooks()
    return node


def snapshot(node: Node) -> dict[str, Any]:
    assert isinstance(node.hooks, RecordingHooks)
    return {
        "kind": bytes(node.kind),
        "buddy": bytes(node.buddy),
        "alloc_order": bytes(node.alloc_order),
        "pb_mt": bytes(node.pb_mt),
        # free lists with their order: the next block taken depends on it
        "free_area": [[list(lst) for lst in row] for z in node.zones for row in z.free_area],
        "zones": [(z.free_pages, z.pgalloc, z.watermark_boost, z.boosted) for z in node.zones],
        "streams": [(list(s.pfns), s.nr_pages) for s in node.streams],
        "nr_kind_pages": list(node.nr_kind_pages),
        "events": [repr(e) for e in node.events],
        "after_alloc": list(node.hooks.boosted),
    }


Op = tuple[float, int, int, float]


def run_pair(zones: list[tuple[ZoneName, int]], ops: list[Op]) -> tuple[Node, Node]:
    """Apply the same operations to two nodes: one through alloc_pages(), one through alloc_fast()."""
    full, fast = new_node(zones), new_node(zones)
    for node in (full, fast):
        for k in KINDS:
            node.stream(0, f"s{int(k)}", k)
    for p_free, order, kind_i, pick in ops:
        kind = KINDS[kind_i]
        sid = kind_i
        if p_free < 0.4:
            pfns = full.streams[sid].pfns
            assert list(fast.streams[sid].pfns) == list(pfns)
            if pfns:
                pfn = pfns[int(pick * len(pfns))]
                assert full.free_alloc(pfn) == fast.free_alloc(pfn)
            continue
        assert full.alloc_pages(order, kind, sid) == fast.alloc_fast(order, kind, sid)
    return full, fast


op = st.tuples(st.floats(0, 1, exclude_max=True), st.sampled_from([0, 0, 0, 0, 1, 2, 3, 4, 9, 10]),
               st.integers(0, len(KINDS) - 1), st.floats(0, 1, exclude_max=True))


@settings(max_examples=30)
@given(ops=st.lists(op, min_size=1, max_size=300))
def test_fast_path_matches_full_path(ops: list[tuple[float, int, int, float]]) -> None:
    full, fast = run_pair([("Normal", 4096)], ops)
    assert snapshot(full) == snapshot(fast)
    invariants.check(fast)


def test_fast_path_matches_through_fallbacks_boosts_and_failures() -> None:
    rng = np.random.default_rng(5)
    n = 6000
    orders = rng.choice([0, 0, 0, 0, 0, 1, 2, 3, 9, 10], size=n).tolist()
    kinds = rng.integers(0, len(KINDS), size=n).tolist()
    ops = list(zip(rng.random(n).tolist(), orders, kinds, rng.random(n).tolist(), strict=True))
    full, fast = run_pair([("DMA32", 4096), ("Normal", 4096)], ops)
    snap = snapshot(fast)
    assert snapshot(full) == snap
    # the sequence reached the interesting paths, so the comparison covered them
    names = {e.split("(")[0] for e in snap["events"]}
    assert {"MmPageAllocExtfrag", "AllocFail"} <= names
    assert snap["after_alloc"]
    invariants.check(fast)


def test_miss_changes_nothing() -> None:
    node = new_node([("Normal", 2048)])
    sid = node.stream(0, "anon", PageKind.ANON).sid
    # fill until the low watermark stops the fast path
    while node.alloc_pages_fast(0, PageKind.ANON, sid) >= 0:
        pass
    z = node.zones[0]
    assert z.free_pages == z.watermark[1]  # the last success saw free = mark + 1
    before = snapshot(node)
    assert node.alloc_pages_fast(0, PageKind.ANON, sid) == FAST_MISS
    assert snapshot(node) == before
    # the full path goes on below the low watermark, down to the min watermark (the slow path)
    assert node.alloc_fast(0, PageKind.ANON, sid) >= 0
    invariants.check(node)


def test_miss_when_the_own_type_is_empty() -> None:
    node = new_node([("Normal", 2048)])
    # every pageblock starts movable: an unmovable request needs a fallback, so the fast path misses
    sid = node.stream(0, "slab", PageKind.SLAB_UNMOVABLE).sid
    assert node.alloc_pages_fast(0, PageKind.SLAB_UNMOVABLE, sid) == FAST_MISS
    assert node.alloc_fast(0, PageKind.SLAB_UNMOVABLE, sid) >= 0
    assert node.event_counts.get("mm_page_alloc_extfrag") == 1
    invariants.check(node)
