"""The compiled core (simcore.kernels) against its references.

* The free lists (`simcore.kernels.lists`) behave as the kernel's ``list_head`` lists: a block is
  added at the head, taken from the head, deleted from anywhere; checked against an insertion-ordered
  dict (the representation before the compiled core), whose order they must keep exactly.
* The stream arena (`simcore.owners.StreamStore`) behaves as one Python list per stream.
* The compiled workload loop (`Workload.run_tick`) leaves exactly the state the Python reference
  loop (`Workload.run_tick_reference`, event by event through the node's entry points) leaves.
* ``NUMBA_DISABLE_JIT=1`` runs the same kernels as Python and ends in the same state.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import subprocess
import sys
from array import array
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.presets import load_scenario
from simcore.actions import CompactAction
from simcore.invariants import check
from simcore.jit import JIT, py
from simcore.kernels.lists import list_add, list_check, list_del, list_items, list_pop
from simcore.owners import StreamStore
from simcore.scenario import validate_scenario
from simcore.simulation import Simulation

ROOT = Path(__file__).resolve().parent.parent


# ------------------------------------------------------------------ lists
def _lists(nr_pages: int, nr_lists: int) -> tuple[array[int], array[int], array[int]]:
    return (array("i", [-1]) * nr_lists, array("q", [0]) * nr_lists, array("i", [0]) * (2 * nr_pages))


def _items(fl: tuple[array[int], ...], li: int) -> list[int]:
    out = array("i", [0]) * fl[1][li]
    n = list_items(*fl, li, out)
    return list(out[:n])


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "python-twin"])
@settings(max_examples=60, deadline=None)
@given(ops=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2), st.integers(0, 63)), max_size=200))
def test_free_lists_keep_the_order_of_an_insertion_ordered_dict(
    compiled: bool, ops: list[tuple[int, int, int]]
) -> None:
    kernels = (list_add, list_del, list_pop)
    add, delete, pop = kernels if compiled else tuple(py(k) for k in kernels)
    fl = _lists(64, 3)
    model: list[dict[int, None]] = [{}, {}, {}]
    where: dict[int, int] = {}
    for op, li, pfn in ops:
        if op == 0 and pfn not in where:  # list_add: the newest entry, at the head
            add(*fl, li, pfn)
            model[li][pfn] = None
            where[pfn] = li
        elif op == 1 and pfn in where:  # list_del: from anywhere
            delete(*fl, where[pfn], pfn)
            del model[where.pop(pfn)][pfn]
        elif op == 2:  # take the head: the most recently added
            got = pop(*fl, li)
            want = model[li].popitem()[0] if model[li] else -1
            assert got == want
            where.pop(got, None)
        for i in range(3):
            assert list_check(*fl, i) == -1
            assert _items(fl, i) == list(model[i])  # oldest first, as a dict iterates
            assert fl[1][i] == len(model[i])


def test_list_check_finds_a_broken_link() -> None:
    fl = _lists(8, 1)
    for pfn in (1, 2, 3):
        list_add(*fl, 0, pfn)
    assert list_check(*fl, 0) == -1
    fl[2][2 * 2 + 1] = 1  # prev of 2 should be 3 (the head's next is 2, whose prev is the head)
    assert list_check(*fl, 0) >= 0
    fl[2][2 * 2 + 1] = 3
    fl[1][0] = 2  # count says 2, three are linked: the walk does not close
    assert list_check(*fl, 0) >= 0


# ---------------------------------------------------------------- streams
@settings(max_examples=40, deadline=None)
@given(ops=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 2**31)), max_size=400))
def test_stream_store_behaves_as_a_list_per_stream(ops: list[tuple[int, int]]) -> None:
    store = StreamStore()
    sids = [store.new() for _ in range(4)]
    model: list[list[int]] = [[] for _ in sids]
    from simcore.owners import StreamPfns

    for sid, value in ops:
        pfns = StreamPfns(store, sid)
        if value % 3 and model[sid]:
            assert pfns.pop() == model[sid].pop()
        else:
            # a burst of appends: streams outgrow their room and the arena
            for k in range(value % 40):
                pfns.append(value + k)
                model[sid].append(value + k)
        for s in sids:
            assert StreamPfns(store, s).tolist() == model[s]
            assert len(StreamPfns(store, s)) == len(model[s])
    starts = sorted((int(store.start[s]), int(store.cap[s])) for s in sids)
    for (a, cap), (b, _) in itertools.pairwise(starts):
        assert a + cap <= b  # no two streams share arena room


# ---------------------------------------------------------------- the loop
SMALL = ["node.zones.0.pages=65536"]
CASES = [
    ("default", 80, [*SMALL, "workload.events_per_tick=1500"]),
    ("fragmented-zone", 120, [*SMALL, "workload.events_per_tick=1500"]),
    ("compaction-vs-lumpy", 100, ["workload.events_per_tick=1500"]),
    ("desktop-about-to-swap", 200, []),
    ("embedded-about-to-oom", 200, []),
]


def state_digest(sim: Simulation) -> str:
    """Everything the loop touches: page arrays, free lists in order, streams, counters, events."""
    node = sim.node
    h = hashlib.sha256()
    for arr in (node.kind, node.buddy, node.alloc_order, node.alloc_stream, node.alloc_index, node.pb_mt):
        h.update(bytes(arr))
    for z in node.zones:
        h.update(repr([[list(lst) for lst in row] for row in z.free_area]).encode())
        h.update(repr((z.free_pages, z.pgalloc, z.watermark_boost)).encode())
    for s in node.streams:
        h.update(bytes(s.pfns) + repr(s.nr_pages).encode())
    counters = (list(node.nr_kind_pages), list(node.nr_alloc_fast), node.nr_alloc_tried, node.pgfree)
    h.update(repr(counters).encode())
    w = sim.workload
    assert w is not None
    h.update(repr((w.allocs, w.frees, w.failures, sorted(sim.vmstat().items()))).encode())
    h.update(repr([(ev.name, ev.tick, ev.fields()) for ev in node.events]).encode())
    h.update(sim.frame(events=False).digest())
    return h.hexdigest()


def run_case(preset: str, ticks: int, overrides: list[str], reference: bool = False) -> str:
    sim = Simulation(load_scenario(preset, overrides))
    if reference:
        assert sim.workload is not None
        sim.workload.run_tick = sim.workload.run_tick_reference  # type: ignore[method-assign]
    sim.run_until(ticks)
    check(sim.node)
    return state_digest(sim)


@pytest.mark.parametrize(("preset", "ticks", "overrides"), CASES, ids=[c[0] for c in CASES])
def test_compiled_loop_leaves_the_state_of_the_reference_loop(
    preset: str, ticks: int, overrides: list[str]
) -> None:
    assert run_case(preset, ticks, overrides) == run_case(preset, ticks, overrides, reference=True)


def test_without_jit_the_kernels_run_as_python_to_the_same_state() -> None:
    assert JIT, "the suite runs with numba compiling; this test starts a process without"
    preset, _, overrides = CASES[0]
    code = (
        "import sys; sys.path.insert(0, 'tests'); from test_kernels import run_case; "
        f"from simcore.jit import JIT; assert not JIT; print(run_case({preset!r}, 12, {overrides!r}))"
    )
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
        check=True,
    )
    assert out.stdout.strip() == run_case(preset, 12, overrides)


def test_warm_up_goes_through_the_workload_the_slow_path_and_compaction() -> None:
    from simcore.kernels.warm import WARM_SCENARIO, warm

    digest = warm()
    assert len(digest) == 32
    sim = Simulation(validate_scenario(WARM_SCENARIO))
    sim.run_until(5)
    assert sum(sim.node.nr_alloc_tried) > 0  # the slow path ran (a fast-path miss)
    assert sim.apply(CompactAction())  # and a manual compaction can run on it


def test_free_list_views_iterate_like_the_dict_they_replaced() -> None:
    from simcore.buddy import FreeList, FreeLists

    fl = FreeLists(16, 1)
    lst = FreeList(fl, 0)
    model: dict[int, None] = {}
    assert list(lst) == [] and list(reversed(lst)) == [] and not lst
    for pfn in (5, 2, 9, 14):
        lst[pfn] = None
        model[pfn] = None
    del lst[2]
    del model[2]
    assert list(lst) == list(model) == list(lst.pfns())  # oldest first
    assert list(reversed(lst)) == list(reversed(model))  # newest first
    assert next(iter(lst)) == 5 and lst.head() == 14 and len(lst) == 3 and 9 in lst
