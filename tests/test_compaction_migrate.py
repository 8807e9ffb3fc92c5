"""Migration: the inlined and batched order-0 moves equal Node.move_alloc; compound pages move as a unit."""

from __future__ import annotations

import numpy as np
from compaction_helpers import compactor, layout_node, manual_run, pattern
from hypothesis import given, settings
from hypothesis import strategies as st

from simcore.compaction.migrate import move_order0, move_order0_batch
from simcore.constants import PAGEBLOCK_NR_PAGES, PageKind
from simcore.invariants import check


def state(node):  # type: ignore[no-untyped-def]
    return (
        bytes(node.kind),
        bytes(node.alloc_order),
        list(node.alloc_stream),
        [(s.sid, list(s.pfns), s.nr_pages, sorted((p, s.position(p)) for p in s.pfns)) for s in node.streams],
    )


def test_move_order0_matches_move_alloc() -> None:
    kinds = pattern(["ap.."] * 4)
    a, b = layout_node(kinds), layout_node(kinds)
    for node, move in ((a, move_order0), (b, None)):
        zone = node.zones[0]
        for src, dst in ((0, 2), (1, 3), (4, 700)):
            zone.del_free_block(dst, 0) if node.buddy[dst] == 1 else None
            if move is None:
                node.move_alloc(src, dst)
            else:
                move(node, src, dst)
    assert state(a) == state(b)


def test_move_order0_batch_matches_move_alloc() -> None:
    # anon and page cache pages (two streams) moved to free pages in several pageblocks, in an order
    # that is not sorted by pfn
    kinds = pattern(["ap.."] * 2 + ["pa.."] * 2)
    a, b = layout_node(kinds), layout_node(kinds)
    srcs = [0, 1, 4, 513, 1025, 1540, 5, 8]
    dsts = [1030, 2, 1539, 3, 6, 1538, 1031, 7]  # four free order-1 blocks, taken off their lists
    for node in (a, b):
        zone = node.zones[0]
        for dst in dsts:
            assert node.kind[dst] == PageKind.FREE
            if node.buddy[dst] == 2:
                zone.del_free_block(dst, 1)
        for src in srcs:
            assert node.alloc_order[src] == 1
    for src, dst in zip(srcs, dsts, strict=True):
        a.move_alloc(src, dst)
    move_order0_batch(compactor(b), srcs, dsts)
    assert state(a) == state(b)
    for node in (a, b):
        for src in srcs:
            node.zones[0].free_one_page(src, 0)
        check(node)


def test_compound_pages_migrate_as_a_unit() -> None:
    # block 0: kernel pages with three order-2 anon allocations (mTHP) among them; the top blocks
    # have free order-3 holes
    node = layout_node(pattern(["k"] * 2 + ["aaaaaaaa........"] * 2))
    zone = node.zones[0]
    st = node.stream(node.process("test"), "mthp", PageKind.ANON)
    for base in (0, 64, 128):
        for pfn in range(base, base + 4):
            node.free_alloc(pfn)
        zone.del_free_block(base, 2)
        node.commit_alloc(base, 2, PageKind.ANON, st.sid)
    check(node)
    run = manual_run(compactor(node))
    run.run()
    check(node)
    heads = sorted(st.pfns)
    assert len(heads) == 3
    assert all(node.alloc_order[h] == 3 and h % 4 == 0 for h in heads)
    assert all(np.all(np.frombuffer(node.kind, dtype=np.uint8)[h : h + 4] == PageKind.ANON) for h in heads)
    assert min(heads) >= 512  # moved out of the bottom block, each into a free block of order >= 2


def test_move_order0_batch_across_many_streams_matches_move_alloc() -> None:
    # pages of twelve streams in one batch: the stream arrays are written page by page
    kinds = pattern(["aaaa...."] * 4)
    a, b = layout_node(kinds), layout_node(kinds)
    srcs = [8 * k + i for k in range(12) for i in range(4)]
    holes = [2044 - 8 * k for k in range(12)]  # free order-2 blocks at the top
    dsts = [h + i for h in holes for i in range(4)]
    for node in (a, b):
        zone = node.zones[0]
        for i, src in enumerate(srcs):
            st = node.stream(node.process(f"p{i % 12}"), "anon", PageKind.ANON)
            node.free_alloc(src)  # and take it again for this process's stream
            assert node.buddy[src] == 1
            zone.del_free_block(src, 0)
            node.commit_alloc(src, 0, PageKind.ANON, st.sid)
        for h in holes:
            assert node.buddy[h] == 3
            zone.del_free_block(h, 2)
    assert len({b.alloc_stream[s] for s in srcs}) == 12
    for src, dst in zip(srcs, dsts, strict=True):
        a.move_alloc(src, dst)
    move_order0_batch(compactor(b), srcs, dsts)
    assert state(a) == state(b)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**31), st.floats(0.05, 0.95), st.floats(0.0, 1.0))
def test_compiled_bulk_free_equals_freeing_page_by_page(
    seed: int, free_share: float, held_share: float
) -> None:
    # a pageblock with free pages already on the lists, and held pages (allocated until now) to free:
    # the compiled bulk free (`Zone.free_pages_each`, used for the pages compaction held) leaves the
    # same buddy bytes, free lists (in their order) and free page count as the Python twin's frees
    rng = np.random.default_rng(seed)
    u = rng.random(3 * PAGEBLOCK_NR_PAGES)
    kinds = np.where(u < free_share, PageKind.FREE, PageKind.ANON).astype(np.uint8)
    kinds[PAGEBLOCK_NR_PAGES + rng.integers(PAGEBLOCK_NR_PAGES)] = PageKind.KERNEL  # never entirely free
    a, b = layout_node(kinds), layout_node(kinds)
    block = PAGEBLOCK_NR_PAGES
    in_use = [p for p in range(block, 2 * block) if kinds[p] == PageKind.ANON]
    held = sorted(p for p in in_use if rng.random() < held_share)
    if not held:
        return
    for node in (a, b):
        for p in held:
            node.kind[p] = PageKind.FREE  # migrated away: the page is the allocator's again
            node.alloc_order[p] = 0
    for p in held:
        a.zones[0].free_one_page(p, 0)
    b.zones[0].free_pages_each(np.array(held, dtype=np.int64), 0)
    za, zb = a.zones[0], b.zones[0]
    assert bytes(a.buddy) == bytes(b.buddy)
    lists = [[[list(lst) for lst in row] for row in z.free_area] for z in (za, zb)]
    assert lists[0] == lists[1]
    assert za.free_pages == zb.free_pages
