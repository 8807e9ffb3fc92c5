"""Lumpy reclaim: the whole aligned block around each LRU tag, age-blind, stopping at unmovable pages."""

from __future__ import annotations

import numpy as np
from compaction_helpers import layout_node, pattern

from simcore.compaction.lumpy import LumpyReclaim
from simcore.constants import PageKind
from simcore.invariants import check
from simcore.page_alloc import COMPACT_PRIO_ASYNC, COMPACT_PRIO_SYNC_LIGHT


def test_lumpy_frees_whole_blocks_and_serves_the_request() -> None:
    # two blocks of anon + page cache, one block of kernel pages with a few page cache pages in it
    kinds = pattern(["ap", "pa", "kkkkkkkp"])
    node = layout_node(kinds)
    lumpy = LumpyReclaim(node)
    ac = node.alloc_context(9, PageKind.HUGE, node.stream(0, "thp", PageKind.HUGE).sid)
    pfn = lumpy.compact(ac, COMPACT_PRIO_ASYNC)
    assert pfn >= 0 and pfn % 512 == 0 and pfn < 1024  # one of the two all-LRU blocks
    ev = node.vm_events
    assert ev["pswpout"] > 0  # anonymous pages were swapped out, page cache dropped
    # the kernel block keeps all its kernel pages: a tag there reclaims at most up to the first one
    k = np.frombuffer(node.kind, dtype=np.uint8)
    assert np.count_nonzero(k[1024:1536] == PageKind.KERNEL) == int(
        np.count_nonzero(kinds == PageKind.KERNEL)
    )
    (iso,) = [e for e in node.events if e.name == "mm_vmscan_lru_isolate"]
    # 2.6.36 isolate_lru_pages() / shrink_inactive_list(): nr_taken counts the lumpy pages too
    # (contig_taken <= nr_taken), lumpy isolates in ISOLATE_BOTH mode; PGSCAN_DIRECT counts the LRU
    # pages looked at (the tags), PGSTEAL_DIRECT the pages reclaimed
    assert iso.isolate_mode == 2  # type: ignore[attr-defined]
    assert 0 < iso.nr_lumpy_taken <= iso.nr_taken  # type: ignore[attr-defined]
    assert ev["pgscan_direct"] == iso.nr_scanned <= 32  # type: ignore[attr-defined]
    assert ev["pgsteal_direct"] == iso.nr_taken >= 512  # type: ignore[attr-defined]
    node.commit_alloc(pfn, 9, PageKind.HUGE, ac.sid)
    check(node)


def test_lumpy_reclaims_regardless_of_age_and_stops_at_unmovable_pages() -> None:
    # every block has one kernel page in the middle: reclaim stops there, so no order-9 block forms
    block = ["p" * 255 + "k" + "p" * 256]
    node = layout_node(np.concatenate([pattern(block)] * 4))
    lumpy = LumpyReclaim(node)
    ac = node.alloc_context(9, PageKind.HUGE, node.stream(0, "thp", PageKind.HUGE).sid)
    assert lumpy.compact(ac, COMPACT_PRIO_SYNC_LIGHT) == -1
    k = np.frombuffer(node.kind, dtype=np.uint8)
    assert np.count_nonzero(k == PageKind.KERNEL) == 4
    # the pages below each kernel page went; the ones above it only where a tag sat above it
    freed = k == PageKind.FREE
    assert freed.reshape(4, 512)[:, :255].any()
    assert node.vm_events["pgsteal_direct"] > 0 and node.vm_events["pswpout"] == 0
    check(node)


def test_small_orders_wait_for_pressure() -> None:
    node = layout_node(pattern(["ap"] * 2))
    lumpy = LumpyReclaim(node)
    ac = node.alloc_context(2, PageKind.ANON, node.stream(0, "x", PageKind.ANON).sid)
    assert lumpy.compact(ac, COMPACT_PRIO_ASYNC) == -1
    assert node.vm_events["pgscan_direct"] == 0
