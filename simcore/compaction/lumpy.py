"""Lumpy reclaim (Linux 2.6.23 .. 3.4): the defragmentation compaction replaced.

For a high-order request, direct reclaim takes SWAP_CLUSTER_MAX (32) "tag" pages from the LRU and,
for each, also reclaims every page of the naturally aligned 2^order block around it, whatever its
age, stopping at the first page it cannot isolate (an unmovable or unreclaimable page). Page cache
is dropped, anonymous memory is swapped out (pswpout). Models the lumpy part of `isolate_lru_pages()`
followed by `shrink_page_list()`. The LRU has no age order here, so tags are drawn uniformly from the
LRU pages (lumpy reclaim ignored age for the block around a tag anyway; docs/fidelity.md).
"""

from __future__ import annotations

from bisect import bisect_right
from itertools import accumulate

from simcore.compaction.events import MmVmscanLruIsolate
from simcore.constants import CLASS_INFO, PAGE_ALLOC_COSTLY_ORDER, SWAP_CLUSTER_MAX, PageKind
from simcore.node import Node
from simcore.page_alloc import COMPACT_PRIO_ASYNC, AllocContext
from simcore.watermarks import ALLOC_WMARK_MIN

_LRU = bytes(1 if (k in CLASS_INFO and CLASS_INFO[k].lru) else 0 for k in range(256))
_SWAPPED = (PageKind.ANON, PageKind.HUGE)


#: isolate_mode_t of 2.6.36: ISOLATE_INACTIVE 0, ISOLATE_ACTIVE 1, ISOLATE_BOTH 2 (lumpy reclaim)
ISOLATE_BOTH = 2


class LumpyReclaim:
    """The `hooks.compact` slot when the scenario's defrag policy is "lumpy"."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.nr_reclaimed = 0

    def _tags(self, n: int) -> list[int]:
        """n LRU allocation heads, drawn from the LRU streams in proportion to their pages."""
        node = self.node
        sts = [
            s
            for s in node.streams
            if CLASS_INFO.get(s.kind) is not None and CLASS_INFO[s.kind].lru and s.pfns
        ]
        if not sts:
            return []
        cum = list(accumulate(float(s.nr_pages) for s in sts))
        total = cum[-1]
        u = node.rng.random(2 * n).tolist()
        out = []
        for i in range(n):
            j = min(bisect_right(cum, u[2 * i] * total), len(sts) - 1)
            pfns = sts[j].pfns
            out.append(pfns[int(u[2 * i + 1] * len(pfns))])
        return out

    def _reclaim(self, pfn: int) -> int:
        node = self.node
        n = 1 << (node.alloc_order[pfn] - 1)
        if node.kind[pfn] in _SWAPPED:
            node.vm_events["pswpout"] += n
        return node.free_alloc(pfn)

    def compact(self, ac: AllocContext, prio: int) -> int:
        """One round of lumpy direct reclaim for the request, then an allocation attempt."""
        order = ac.order
        # lumpy mode: costly orders always; smaller orders only once reclaim is under pressure
        if order == 0 or (order <= PAGE_ALLOC_COSTLY_ORDER and prio == COMPACT_PRIO_ASYNC):
            return -1
        node = self.node
        zones = {id(z) for z in ac.zonelist}
        kind = node.kind
        alloc_order = node.alloc_order
        buddy = node.buddy
        nr_taken = nr_lumpy_taken = nr_lumpy_failed = 0
        scanned = 0
        for tag in self._tags(SWAP_CLUSTER_MAX):
            scanned += 1
            if not alloc_order[tag] or not _LRU[kind[tag]]:
                continue  # already reclaimed as part of an earlier tag's block
            zone = node.zone_of(tag)
            if id(zone) not in zones:
                continue
            nr_taken += self._reclaim(tag)
            start = tag & ~((1 << order) - 1)
            end = start + (1 << order)
            pfn = max(start, zone.start_pfn)
            end = min(end, zone.end_pfn)
            while pfn < end:
                ao = alloc_order[pfn]
                if ao:
                    if not _LRU[kind[pfn]]:
                        nr_lumpy_failed += 1
                        break
                    nr_lumpy_taken += self._reclaim(pfn)
                    pfn += 1 << (ao - 1)
                elif buddy[pfn]:
                    pfn += 1 << (buddy[pfn] - 1)
                elif kind[pfn] == PageKind.FREE:
                    pfn += 1
                else:
                    # a tail page of an allocation that starts below the block, or an isolated page
                    nr_lumpy_failed += 1
                    break
        reclaimed = nr_taken + nr_lumpy_taken
        ev = node.vm_events
        # 2.6.36 shrink_inactive_list(): PGSCAN_DIRECT counts the LRU pages looked at, PGSTEAL_DIRECT
        # the pages reclaimed (the lumpy ones with them)
        ev["pgscan_direct"] += scanned
        ev["pgsteal_direct"] += reclaimed
        self.nr_reclaimed += reclaimed
        # isolate_lru_pages(): nr_taken counts every page taken, the lumpy ones too (so contig_taken
        # <= nr_taken); lumpy reclaim isolates in ISOLATE_BOTH mode (2)
        node.emit(
            MmVmscanLruIsolate(
                node.tick, ISOLATE_BOTH, order, SWAP_CLUSTER_MAX, scanned, reclaimed, nr_lumpy_taken, 0,
                nr_lumpy_failed,
            )
        )
        return node.get_page_from_freelist(ac, ALLOC_WMARK_MIN)
