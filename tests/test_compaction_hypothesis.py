"""Random hand-built zones: manual compaction keeps every invariant, owner and unmovable page."""

from __future__ import annotations

from collections import Counter

import numpy as np
from compaction_helpers import compactor, free_huge_blocks, layout_node, manual_run
from hypothesis import given, settings
from hypothesis import strategies as st

from simcore.compaction.control import CompactResult
from simcore.constants import PAGEBLOCK_NR_PAGES, PageKind
from simcore.invariants import check

block_mix = st.tuples(
    st.floats(0.0, 0.9),  # movable share
    st.floats(0.0, 0.02),  # unmovable share
    st.booleans(),  # page cache (else anon)
)


@settings(max_examples=25)
@given(st.lists(block_mix, min_size=2, max_size=6), st.integers(0, 2**31), st.booleans(), st.booleans())
def test_manual_compaction_on_random_zones(
    blocks: list[tuple[float, float, bool]], seed: int, old: bool, failures: bool
) -> None:
    rng = np.random.default_rng(seed)
    kinds = []
    for movable, unmovable, cache in blocks:
        u = rng.random(PAGEBLOCK_NR_PAGES)
        mk = PageKind.PAGECACHE if cache else PageKind.ANON
        kinds.append(
            np.where(u < unmovable, PageKind.KERNEL, np.where(u < unmovable + movable, mk, PageKind.FREE))
        )
    node = layout_node(np.concatenate(kinds).astype(np.uint8))
    kernel_before = np.flatnonzero(np.frombuffer(node.kind, dtype=np.uint8) == PageKind.KERNEL)
    kinds_before = Counter(node.kind)
    streams_before = [(s.sid, len(s.pfns), s.nr_pages) for s in node.streams]
    huge_before = free_huge_blocks(node)
    c = compactor(node, old=old, fail_rate=0.3 if failures else 0.0)
    run = manual_run(c)
    steps = 0
    while run.step() == CompactResult.CONTINUE:
        steps += 1
        assert steps < 100_000
        if steps % 7 == 0:
            check(node)
    check(node)
    assert run.result == CompactResult.COMPLETE
    assert Counter(node.kind) == kinds_before
    assert [(s.sid, len(s.pfns), s.nr_pages) for s in node.streams] == streams_before
    kernel_after = np.flatnonzero(np.frombuffer(node.kind, dtype=np.uint8) == PageKind.KERNEL)
    assert np.array_equal(kernel_before, kernel_after)
    # no pageblock holding an unmovable page is a free huge block
    buddy = np.frombuffer(node.buddy, dtype=np.uint8)
    for b in set((kernel_after >> 9).tolist()):
        assert buddy[b * PAGEBLOCK_NR_PAGES] < 10
    assert free_huge_blocks(node) <= node.free_pages // PAGEBLOCK_NR_PAGES
    if not failures and not old:
        # a manual run never leaves fewer free huge blocks than it found
        assert free_huge_blocks(node) >= huge_before
    assert run.cc.nr_freepages == 0 and not any(run.cc.freepages)
