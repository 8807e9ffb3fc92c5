"""Hand-built zones for the compaction tests: a per-page layout string turned into node state."""

from __future__ import annotations

import numpy as np
from zone_helpers import build_node, split_to_order0, take_all_free

from simcore.compaction.context import Compactor, CompactSettings
from simcore.compaction.control import CompactResult
from simcore.compaction.run import CompactionRun
from simcore.compaction.triggers import manual_control
from simcore.constants import PAGEBLOCK_ORDER, MigrateType, PageKind
from simcore.node import Node

#: layout characters -> page kind
CHARS = {
    ".": PageKind.FREE,
    "a": PageKind.ANON,
    "p": PageKind.PAGECACHE,
    "k": PageKind.KERNEL,
    "s": PageKind.SLAB_UNMOVABLE,
}


def layout_node(kinds: np.ndarray, unmovable_blocks: tuple[int, ...] = (), **vm: int) -> Node:
    """A one-zone node whose page i has kind kinds[i] (order-0 allocations; 0 free).

    Pageblocks listed in `unmovable_blocks` get MIGRATE_UNMOVABLE, the others stay MOVABLE.
    """
    node = build_node([("Normal", int(kinds.size))], **vm)
    sid = take_all_free(node, PageKind.KERNEL, "filler")
    split_to_order0(node, sid)
    for b in unmovable_blocks:
        node.pb_mt[b] = MigrateType.UNMOVABLE
    zone = node.zones[0]
    streams = {
        k: node.stream(node.process("test"), PageKind(k).name.lower(), k).sid for k in CHARS.values() if k
    }
    for pfn in np.flatnonzero((kinds != PageKind.KERNEL) & (kinds != PageKind.FREE)).tolist():
        node.free_alloc(pfn)
        zone.del_free_block(pfn, 0)
        node.commit_alloc(pfn, 0, int(kinds[pfn]), streams[int(kinds[pfn])])
    for pfn in np.flatnonzero(kinds == PageKind.FREE).tolist():
        node.free_alloc(pfn)
    return node


def pattern(blocks: list[str]) -> np.ndarray:
    """One string per pageblock; each string repeats to fill the block's 512 pages."""
    out = []
    for text in blocks:
        reps = (1 << PAGEBLOCK_ORDER) // len(text)
        assert reps * len(text) == 1 << PAGEBLOCK_ORDER, text
        out.extend(CHARS[ch] for ch in text * reps)
    return np.array(out, dtype=np.uint8)


def compactor(node: Node, old: bool = False, fail_rate: float = 0.0, **kw: int) -> Compactor:
    return Compactor(
        node,
        CompactSettings(old=old, migrate_fail_rate=fail_rate, **kw),
        np.zeros(node.nr_pages >> PAGEBLOCK_ORDER, dtype=np.uint8),
    )


def manual_run(c: Compactor) -> CompactionRun:
    run = CompactionRun(c, manual_control(c.node.zones[0]))
    assert run.begin() == CompactResult.CONTINUE
    return run


def free_huge_blocks(node: Node) -> int:
    """Free pageblock-sized blocks: nr_free(9) + 2 * nr_free(10)."""
    return sum(z.nr_free(9) + 2 * z.nr_free(10) for z in node.zones)
