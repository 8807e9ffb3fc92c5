"""madvise(MADV_FREE) and madvise(MADV_DONTNEED) over whole allocations.

MADV_DONTNEED drops the pages at once. MADV_FREE (4.5+) only marks them lazily free: they stay
allocated (PageKind.LAZYFREE, on the file LRU) until reclaim drops them without any swap I/O, and a
write before that cancels the free, so the process gets its data back for nothing.
"""

from __future__ import annotations

from simcore.node import Node


def retype_alloc(node: Node, pfn: int, kind: int, sid: int) -> int:
    """Change the allocation headed at `pfn` to `kind`, owned by stream `sid`, in place.

    Both kinds must share a migratetype (ANON <-> LAZYFREE are both MOVABLE), so the pageblock
    and the free lists are untouched. Returns the pages retyped.
    """
    n = 1 << (node.alloc_order[pfn] - 1)
    old = node.kind[pfn]
    node.kind[pfn : pfn + n] = bytes([kind]) * n
    node.streams[node.alloc_stream[pfn]].remove(pfn, n)
    node.alloc_stream[pfn] = sid
    node.streams[sid].add(pfn, n)
    node.nr_kind_pages[old] -= n
    node.nr_kind_pages[kind] += n
    return n


def madv_dontneed(node: Node, src_sid: int, pages: int) -> int:
    """MADV_DONTNEED: free up to `pages` pages of stream `src_sid` now. Returns pages freed."""
    pfns = node.streams[src_sid].pfns
    done = 0
    while pfns and done < pages:
        done += node.free_alloc(pfns[-1])
    return done


def madv_free(node: Node, src_sid: int, lazy_sid: int, kind: int, pages: int) -> int:
    """MADV_FREE: mark up to `pages` pages of stream `src_sid` lazily free (moved to `lazy_sid`)."""
    pfns = node.streams[src_sid].pfns
    done = 0
    while pfns and done < pages:
        done += retype_alloc(node, pfns[-1], kind, lazy_sid)
    node.vm_events["pglazyfree"] += done
    return done


def cancel_lazyfree(node: Node, lazy_sid: int, dst_sid: int, kind: int, pages: int) -> int:
    """A write to a MADV_FREE page before reclaim took it: it is the process's own page again."""
    pfns = node.streams[lazy_sid].pfns
    done = 0
    while pfns and done < pages:
        done += retype_alloc(node, pfns[-1], kind, dst_sid)
    return done
