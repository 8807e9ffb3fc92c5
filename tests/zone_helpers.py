"""Helpers for hand-prepared zones: build a tiny node, take every free page, split allocations."""

from __future__ import annotations

from typing import Any

import numpy as np

from simcore.constants import PageKind
from simcore.node import Node
from simcore.scenario import NodeSpec, VmSpec, ZoneSpec


def build_node(zones: list[tuple[str, int]] | None = None, seed: int = 0, **vm: Any) -> Node:
    """A node with the given (zone name, pages) list, every page free, as after boot."""
    spec = NodeSpec(zones=[ZoneSpec(name=n, pages=p) for n, p in (zones or [("Normal", 2048)])])  # type: ignore[arg-type]
    return Node(spec, VmSpec(**vm), np.random.default_rng(np.random.SeedSequence(seed)))


def take_all_free(node: Node, kind: int = PageKind.KERNEL, owner_stream: str = "filler") -> int:
    """Turn every free block of the node into an allocation of `kind` (a full machine). Returns sid.

    Works on the free lists directly, so neither watermarks nor fallbacks get in the way; the
    pageblock types stay as they are.
    """
    st = node.stream(0, owner_stream, kind)
    for z in node.zones:
        for order, row in enumerate(z.free_area):
            for lst in row:
                for pfn in list(lst):
                    z.del_free_block(pfn, order)
                    node.commit_alloc(pfn, order, kind, st.sid)
    return st.sid


def split_to_order0(node: Node, sid: int) -> None:
    """Re-record every allocation of stream `sid` as order-0 allocations of the same kind."""
    st = node.streams[sid]
    for head in list(st.pfns):
        order = node.alloc_order[head] - 1
        kind = node.kind[head]
        st.remove(head, 1 << order)
        node.nr_kind_pages[kind] -= 1 << order
        node.alloc_order[head] = 0
        for pfn in range(head, head + (1 << order)):
            node.commit_alloc(pfn, 0, kind, sid)
