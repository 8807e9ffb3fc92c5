"""Compaction's per-page work, compiled: the free scanner's sync isolation of one pageblock.

`isolate_free_run` is `isolate_freepages_block()` for a sync run in modern mode (stride 1): it
walks the pageblock's free block heads from the scanner's cursor (a head has ``buddy[pfn] ==
order + 1``; a block's other pages have 0, so the walk steps over a block by its size) and takes
them in pfn order until it holds what is wanted, or stops before the first block that
`__isolate_free_page()`'s watermark check refuses. Taken blocks leave their free list
(`simcore.kernels.lists`), their head's buddy byte clears and their pages become ISOLATED_FREE.
The caller adds them to the run's isolated lists, by order, from ``out`` (see `isolate_free_run`).
"""

from __future__ import annotations

from simcore.constants import NR_PAGE_ORDERS, PAGEBLOCK_ORDER, PageKind
from simcore.jit import Buf, kernel
from simcore.kernels.buddy import NZSTAT, ZS_FREE
from simcore.kernels.lists import list_del, list_index

ISOLATED_FREE = int(PageKind.ISOLATED_FREE)
#: `isolate_free_run`'s ``out`` buffer: the pfns taken grouped by order (up to a pageblock of them)
#: from OUT_PFNS on, the count of each order from OUT_COUNTS on; below OUT_PFNS, scratch
OUT_PFNS = 2 << PAGEBLOCK_ORDER
OUT_COUNTS = 3 << PAGEBLOCK_ORDER
OUT_LEN = OUT_COUNTS + NR_PAGE_ORDERS
_ORDERS = 1 << PAGEBLOCK_ORDER


@kernel
def isolate_free_run(
    kind: Buf,
    buddy: Buf,
    pb_mt: Buf,
    head: Buf,
    count: Buf,
    lru: Buf,
    zstat: Buf,
    zi: int,
    start: int,
    end: int,
    want: int,
    room: int,
    out: Buf,
) -> tuple[int, int, int]:
    """Take free blocks of the pageblock ending at `end` from `start` on, in pfn order.

    A block of n pages is taken while ``room - taken > n`` (`room`: free pages above the min
    watermark); the run ends after the block that brings the pages taken to `want`. Returns
    ``(pages taken, stop pfn, pages scanned)`` as `isolate_freepages_block()` counts them: up to
    and including a refused head, else to the end of the last block taken when enough, else to
    `end`. ``out[OUT_PFNS:]`` receives the taken heads grouped by order (each group in pfn order,
    lowest order first) and ``out[OUT_COUNTS + o]`` how many are of order ``o``."""
    total = 0
    taken = 0
    p = start
    stop = end
    scanned = end - start
    while p < end:
        b = buddy[p]
        if not b:
            p += 1
            continue
        n = 1 << (b - 1)
        if room - total <= n:
            stop = p
            scanned = p - start + 1
            break
        out[taken] = p
        out[_ORDERS + taken] = b - 1
        taken += 1
        total += n
        p += n
        if total >= want:
            stop = p if p < end else end
            scanned = p - start
            break
    for o in range(NR_PAGE_ORDERS):
        out[OUT_COUNTS + o] = 0
    if not taken:
        return 0, stop, scanned
    mt = pb_mt[(end - 1) >> PAGEBLOCK_ORDER]
    for i in range(taken):
        h = out[i]
        o = out[_ORDERS + i]
        out[OUT_COUNTS + o] += 1
        list_del(head, count, lru, list_index(zi, o, mt), h)
        buddy[h] = 0
        for q in range(h, h + (1 << o)):
            kind[q] = ISOLATED_FREE
    # group by order, pfn order kept within each: where each order's group starts, then place
    at = OUT_PFNS
    for o in range(NR_PAGE_ORDERS):
        k = out[OUT_COUNTS + o]
        out[OUT_COUNTS + o] = at
        at += k
    for i in range(taken):
        o = out[_ORDERS + i]
        j = out[OUT_COUNTS + o]
        out[j] = out[i]
        out[OUT_COUNTS + o] = j + 1
    # back from group ends to counts
    prev = OUT_PFNS
    for o in range(NR_PAGE_ORDERS):
        e = out[OUT_COUNTS + o]
        out[OUT_COUNTS + o] = e - prev
        prev = e
    zstat[zi * NZSTAT + ZS_FREE] -= total
    return total, stop, scanned
