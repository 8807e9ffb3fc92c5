"""The state one node's compaction shares between runs: settings, numpy views, caches, trails."""

from __future__ import annotations

from array import array
from collections import deque
from dataclasses import InitVar, dataclass
from typing import cast

import numpy as np

from simcore.constants import (
    CLASS_INFO,
    NR_PAGE_ORDERS,
    PAGEBLOCK_NR_PAGES,
    PAGEBLOCK_ORDER,
    Mode,
    PageKind,
)
from simcore.frame import SkipReason
from simcore.kernels.compact import OUT_LEN
from simcore.node import Node

#: 1 where a page kind may be isolated for migration (PageLRU or __PageMovable).
MOVABLE_NP = np.zeros(256, dtype=bool)
#: 1 where an isolated page counts as file-backed (nr_isolated_file), else anon.
FILE_NP = np.zeros(256, dtype=bool)
for _k, _info in CLASS_INFO.items():
    MOVABLE_NP[_k] = _info.movable
FILE_NP[PageKind.PAGECACHE] = True

#: SkipReason codes (simcore.frame) the scanners record per pageblock, as plain ints for the hot loops.
SKIP_HINT = int(SkipReason.SKIP_HINT)
SKIP_ASYNC_TYPE = int(SkipReason.ASYNC_TYPE)
SKIP_NOT_TARGET = int(SkipReason.NOT_TARGET)
SKIP_FREE_BLOCK = int(SkipReason.FREE_BLOCK)
SKIP_NO_MOVABLE = int(SkipReason.NO_MOVABLE)
SKIP_UNMOVABLE = int(SkipReason.UNMOVABLE)
SKIP_PERSISTENT = int(SkipReason.PERSISTENT)

TRAIL = 8
#: pageblocks whose candidates the scanners find in one numpy pass (see `Compactor.isolatable`)
WINDOW_BLOCKS = 32


@dataclass(frozen=True, slots=True)
class CompactSettings:
    """What compaction follows: the kernel design (`mode`), the failure rate and the vm knobs.

    ``old=True`` is shorthand for ``mode=Mode.V2_6_35``.
    """

    mode: Mode = Mode.MODERN
    migrate_fail_rate: float = 0.0
    extfrag_threshold: int = 500
    proactiveness: int = 20
    old: InitVar[bool] = False

    def __post_init__(self, old: bool) -> None:
        if old:
            object.__setattr__(self, "mode", Mode.V2_6_35)


class Compactor:
    """Per-node compaction context: settings, numpy views of the page arrays, per-block caches."""

    def __init__(self, node: Node, settings: CompactSettings, skip_reason: np.ndarray) -> None:
        self.node = node
        self.settings = settings
        #: `settings.mode` is 2.6.35: a plain bool for the scanners' hot loops
        self.old = settings.mode == Mode.V2_6_35
        self.skip_reason = skip_reason
        self.kindv = np.frombuffer(node.kind, dtype=np.uint8)
        self.buddyv = np.frombuffer(node.buddy, dtype=np.uint8)
        self.aov = np.frombuffer(node.alloc_order, dtype=np.uint8)
        self.asv = np.frombuffer(node.alloc_stream, dtype=np.uint32)
        self.aiv = np.frombuffer(node.alloc_index, dtype=np.uint32)
        #: `simcore.kernels.compact.isolate_free_run`'s output buffer
        self.free_out = array("q", bytes(8 * OUT_LEN))
        self.iso_fill = [bytes([PageKind.ISOLATED_FREE]) * (1 << o) for o in range(NR_PAGE_ORDERS)]
        self.free_fill = [bytes(1 << o) for o in range(NR_PAGE_ORDERS)]
        self.trail_migrate: deque[int] = deque(maxlen=TRAIL)
        self.trail_free: deque[int] = deque(maxlen=TRAIL)
        # (block start, epoch) -> candidates. An epoch is one uninterrupted burst of steps of one run:
        # nothing but that run touches the page arrays, and it only changes blocks it has passed.
        self.epoch = 0
        # zone index -> a direct compaction's scanners met: clear skip bits when kswapd would sleep
        self.blockskip_flush: set[int] = set()
        self._mig_key: tuple[int, int] = (-1, -1)
        self._mig: tuple[list[int], list[int], list[bool]] = ([], [], [])
        self._ok_key: tuple[int, int] = (-1, -2)
        self._ok_lo = self._ok_hi = 0
        self._ok: tuple[array[int], array[int], list[int]] = (array("q"), array("q", [0]), [0])
        self._free_epoch = -1
        self._free_lo = self._free_hi = 0
        self._free: tuple[array[int], array[int], list[int]] = (array("q"), array("q", [0]), [0])
        self._free_orders: np.ndarray = np.zeros(0, dtype=np.int64)
        self._free_orders_list: list[int] | None = None

    def __getstate__(self) -> dict[str, object]:
        """For copies (keyframes): the numpy views are rebuilt over the copy's own page arrays (a
        copied view would be a detached array). The arrays travel in the state, so that this works
        while the copied node is still being rebuilt (the object graph has cycles)."""
        state = dict(self.__dict__)
        for view in ("kindv", "buddyv", "aov", "asv", "aiv"):
            del state[view]
        node = self.node
        state["page_arrays"] = (node.kind, node.buddy, node.alloc_order, node.alloc_stream, node.alloc_index)
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        state = dict(state)
        arrays = state.pop("page_arrays")
        assert isinstance(arrays, tuple)
        kind, buddy, alloc_order, alloc_stream, alloc_index = arrays
        self.__dict__.update(state)
        self.kindv = np.frombuffer(kind, dtype=np.uint8)
        self.buddyv = np.frombuffer(buddy, dtype=np.uint8)
        self.aov = np.frombuffer(alloc_order, dtype=np.uint8)
        self.asv = np.frombuffer(alloc_stream, dtype=np.uint32)
        self.aiv = np.frombuffer(alloc_index, dtype=np.uint32)

    def set_settings(self, settings: CompactSettings) -> None:
        self.settings = settings
        self.old = settings.mode == Mode.V2_6_35

    def note_migrate_block(self, block_start: int, reason: int = 0) -> None:
        if not self.trail_migrate or self.trail_migrate[-1] != block_start:
            self.trail_migrate.append(block_start)
        if reason:
            self.skip_reason[block_start >> 9] = reason

    def note_free_block(self, block_start: int, reason: int = 0) -> None:
        if not self.trail_free or self.trail_free[-1] != block_start:
            self.trail_free.append(block_start)
        if reason:
            self.skip_reason[block_start >> 9] = reason

    def migrate_candidates(
        self, block_start: int, block_end: int, order: int
    ) -> tuple[list[int], list[int], list[bool]]:
        """Allocation heads of a pageblock, their orders, and whether each may be isolated.

        Models the per-page tests of `isolate_migratepages_block()` in one numpy pass: free pages
        have no head (skipped by their order); a head is isolatable if its kind is movable and,
        for a compound page, `skip_isolation_on_order()` allows it (order below the target order
        or manual compaction, and below pageblock_order; 2.6.35 migrated no compound pages).
        """
        key = (block_start, self.epoch)
        if key != self._mig_key:
            seg = self.aov[block_start:block_end]
            rel = np.flatnonzero(seg)
            heads = rel + block_start
            orders = seg[rel].astype(np.int64) - 1
            ok = MOVABLE_NP[self.kindv[heads]]
            if self.old:
                ok &= orders == 0
            else:
                compound_skip = orders >= 9
                if order >= 0:
                    compound_skip |= (orders > 0) & (orders >= order)
                ok &= ~compound_skip
            self._mig = (heads.tolist(), orders.tolist(), ok.tolist())
            self._mig_key = key
        return self._mig

    def isolatable(
        self, block_start: int, block_end: int, order: int
    ) -> tuple[array[int], array[int], int, int]:
        """The heads that may be isolated (`migrate_candidates` with ``ok``) of a window of pageblocks
        from this one up, in pfn order; the running page total before each (``cum[i]`` pages in
        ``heads[:i]``, one more entry than heads); and the range ``[lo, hi)`` of this pageblock's.

        Both are typed arrays: a turn bisects them, reads a few entries and takes one slice of heads
        as ints, so each pfn becomes a Python int only when the scanner isolates it. A window of
        WINDOW_BLOCKS pageblocks costs one numpy pass. It stays valid for the burst: the blocks
        ahead of the migration scanner are below the free scanner, and nothing else writes them in
        a burst (the migrated-to pages are above, the migrated-from pages behind).
        """
        if self._ok_key == (self.epoch, order) and self._ok_lo <= block_start < self._ok_hi:
            heads, cum, bounds = self._ok
        else:
            w1 = min(block_start + WINDOW_BLOCKS * PAGEBLOCK_NR_PAGES, len(self.aov))
            seg = self.aov[block_start:w1]
            rel = np.flatnonzero(seg)
            orders = seg[rel].astype(np.int64) - 1
            h = rel + block_start
            ok = MOVABLE_NP[self.kindv[h]]
            if self.old:
                ok &= orders == 0
            else:
                compound_skip = orders >= PAGEBLOCK_ORDER
                if order >= 0:
                    compound_skip |= (orders > 0) & (orders >= order)
                ok &= ~compound_skip
            c = np.zeros(int(np.count_nonzero(ok)) + 1, dtype=np.int64)
            np.cumsum(np.left_shift(1, orders[ok]), out=c[1:])
            hk = h[ok]
            # bounds[k]: index of the first head of the window's k-th pageblock
            bounds = np.searchsorted(hk, np.arange(block_start, w1 + 1, PAGEBLOCK_NR_PAGES)).tolist()
            heads, cum = array("q", hk.astype(np.int64).tobytes()), array("q", c.tobytes())
            self._ok = (heads, cum, bounds)
            self._ok_key = (self.epoch, order)
            self._ok_lo, self._ok_hi = block_start, w1
        k = (block_start - self._ok_lo) >> PAGEBLOCK_ORDER
        return heads, cum, bounds[k], bounds[k + 1]

    def free_candidates(self, block_start: int, block_end: int) -> tuple[array[int], array[int], int, int]:
        """Free block heads (PageBuddy) of a window of pageblocks from this one down (their orders:
        `free_orders()`), the running page total before each (``cum[i]`` pages in ``heads[:i]``,
        one more entry than heads), and the range ``[lo, hi)`` of this pageblock's. One numpy pass
        a window; valid for the burst, as the free scanner walks down and nothing else changes the
        free blocks below it: the pages the run frees are in the migration scanner's pageblock or
        behind it, and can only merge up into the next pageblock when the scanner has finished with
        its own, when the free scanner can no longer go there (see also `forget_free_candidates`)."""
        if self._free_epoch == self.epoch and self._free_lo <= block_start < self._free_hi:
            heads, cum, bounds = self._free
        else:
            w0 = max(block_end - WINDOW_BLOCKS * PAGEBLOCK_NR_PAGES, 0)
            seg = self.buddyv[w0:block_end]
            rel = np.flatnonzero(seg)
            o = seg[rel].astype(np.int64) - 1
            c = np.zeros(len(rel) + 1, dtype=np.int64)
            np.cumsum(np.left_shift(1, o), out=c[1:])
            # bounds[k]: index of the first head of the window's k-th pageblock
            bounds = np.searchsorted(rel, np.arange(0, block_end - w0 + 1, PAGEBLOCK_NR_PAGES)).tolist()
            h = rel + w0
            # typed arrays: the scanner bisects them and reads a few entries a turn, so most heads
            # never become Python ints
            heads, cum = array("q", h.astype(np.int64).tobytes()), array("q", c.tobytes())
            self._free = (heads, cum, bounds)
            self._free_orders = o
            self._free_orders_list = None
            self._free_epoch = self.epoch
            self._free_lo, self._free_hi = w0, block_end
        k = (block_start - self._free_lo) >> PAGEBLOCK_ORDER
        return heads, cum, bounds[k], bounds[k + 1]

    def free_orders(self) -> list[int]:
        """The orders of the current `free_candidates` window's heads (only the strided scan needs
        them, so they become a list on demand)."""
        if self._free_orders_list is None:
            self._free_orders_list = cast(list[int], self._free_orders.tolist())
        return self._free_orders_list

    def forget_free_candidates(self) -> None:
        """A pageblock was searched out of order (`fast_isolate_freepages`): look at the free
        blocks again when the walk gets there."""
        self._free_epoch = -1

    def new_epoch(self) -> None:
        """Start a burst of steps: the page arrays may have changed since the last one."""
        self.epoch += 1
