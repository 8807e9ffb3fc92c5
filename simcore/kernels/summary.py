"""Per-pageblock summaries of the page arrays, for frames: one compiled pass, pageblocks in parallel."""

from __future__ import annotations

from simcore.constants import PAGEBLOCK_NR_PAGES
from simcore.jit import Buf, parallel_kernel, prange


@parallel_kernel
def pageblock_summary(kind: Buf, buddy: Buf, mobility: Buf, counts: Buf, top: Buf) -> None:
    """For each pageblock ``b``: ``counts[c, b]`` pages whose ``mobility[kind]`` is ``c`` (0 free,
    1 movable, 2 reclaimable, 3 unmovable; 4 and up are not counted) and ``top[b]`` the largest
    buddy byte in it (free order + 1 of its largest free block head; 0: none)."""
    for b in prange(top.shape[0]):
        c0 = c1 = c2 = c3 = 0
        hi = 0
        base = b * PAGEBLOCK_NR_PAGES
        for p in range(base, base + PAGEBLOCK_NR_PAGES):
            m = mobility[kind[p]]
            if m == 0:
                c0 += 1
            elif m == 1:
                c1 += 1
            elif m == 2:
                c2 += 1
            elif m == 3:
                c3 += 1
            o = buddy[p]
            if o > hi:
                hi = o
        counts[0, b] = c0
        counts[1, b] = c1
        counts[2, b] = c2
        counts[3, b] = c3
        top[b] = hi
