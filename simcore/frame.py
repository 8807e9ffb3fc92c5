"""The Frame: one schema for everything downstream (CLI, browser encoder, tests).

A frame is the simulation's visible state at a tick: per-pageblock lens arrays over the whole node,
the per-page kind bytes, per-zone free-list tables and watermarks, the compaction scanners, the
vmstat counters, the events since the previous frame, and the pressure subsystem's own frame
(simcore/pressure/frame.py; left out of `digest()`, which predates it). Nothing downstream recomputes
simulation state; it only selects and encodes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from simcore.constants import CLASS_INFO, NR_PAGE_KINDS, PAGEBLOCK_NR_PAGES, MigrateType, PageKind
from simcore.events import Event
from simcore.kernels.summary import pageblock_summary
from simcore.pressure.frame import PressureFrame

#: mobility of each PageKind for the "mix" lens: 0 free, 1 movable, 2 reclaimable, 3 unmovable, 4 other
MOBILITY = np.zeros(256, dtype=np.uint8)
for _k, _info in CLASS_INFO.items():
    MOBILITY[_k] = 1 if _info.movable else (2 if _info.migratetype == MigrateType.RECLAIMABLE else 3)
MOBILITY[PageKind.ISOLATED_FREE] = 4
MOBILITY[PageKind.HOLE] = 4
assert NR_PAGE_KINDS <= 256

class SkipReason(IntEnum):
    """Why the compaction scanners passed a pageblock by (the pb_skip_reason byte); `label` is the
    text the dashboard's skip lens and tooltip show."""

    NONE = 0
    SKIP_HINT = 1
    ASYNC_TYPE = 2
    NOT_TARGET = 3
    FREE_BLOCK = 4
    NO_MOVABLE = 5
    UNMOVABLE = 6
    PERSISTENT = 7

    @property
    def label(self) -> str:
        return _SKIP_LABELS[self]


_SKIP_LABELS: dict[SkipReason, str] = {
    SkipReason.NONE: "",
    SkipReason.SKIP_HINT: "skip bit set (nothing isolated last time)",
    SkipReason.ASYNC_TYPE: "migratetype not suitable for async compaction",
    SkipReason.NOT_TARGET: "not a MOVABLE block: no free-scanner target",
    SkipReason.FREE_BLOCK: "free block of order >= pageblock_order",
    SkipReason.NO_MOVABLE: "no movable pages",
    SkipReason.UNMOVABLE: "unmovable page made the block unmigratable",
    SkipReason.PERSISTENT: "huge page fills the block (skip persistent)",
}

#: the skip reasons' labels, indexed by code
SKIP_REASONS: tuple[str, ...] = tuple(r.label for r in SkipReason)


@dataclass(frozen=True, slots=True)
class ZoneFrame:
    name: str
    start_pfn: int
    end_pfn: int
    free_pages: int
    managed: int
    watermark_min: int
    watermark_low: int
    watermark_high: int
    watermark_boost: int
    free_area: tuple[tuple[int, ...], ...]  # [order][migratetype] -> blocks
    block_types: tuple[int, ...]  # pageblocks per migratetype
    fragindex_9: int  # __fragmentation_index(9) x1000 (-1000: a suitable block exists)


@dataclass(frozen=True, slots=True)
class ScannerFrame:
    """A compaction run's cursors (compact_control.migrate_pfn / free_pfn)."""

    zone: str
    migrate_pfn: int
    free_pfn: int
    sync: str  # "async" / "sync_light" / "sync"
    order: int
    active: bool
    trail_migrate: tuple[int, ...] = ()
    trail_free: tuple[int, ...] = ()


def record_digest(
    tick: int, zones: tuple[ZoneFrame, ...], vmstat: dict[str, int], scanners: tuple[ScannerFrame, ...],
    events: tuple[Event, ...],
) -> bytes:
    """The digest of a tick's counters, tables, cursors and events (a `TickRecord`: a frame without
    its per-page and per-pageblock arrays)."""
    h = hashlib.blake2b(digest_size=16)
    h.update(tick.to_bytes(8, "little"))
    for z in zones:
        h.update(repr((z.free_pages, z.free_area, z.watermark_boost)).encode())
    h.update(repr(sorted(vmstat.items())).encode())
    h.update(repr([(s.migrate_pfn, s.free_pfn, s.active) for s in scanners]).encode())
    h.update(repr(events).encode())
    return h.digest()


@dataclass(frozen=True, slots=True)
class TickRecord:
    """What a run keeps of every tick it steps without showing it: the frame minus the arrays.

    Cheap (no pass over the pages), so a seek or a headless run can record each tick for the charts
    and the run's hash (`RunHash`) and build a whole `Frame` only for the tick it shows."""

    tick: int
    zones: tuple[ZoneFrame, ...]
    vmstat: dict[str, int]
    scanners: tuple[ScannerFrame, ...]
    events: tuple[Event, ...]

    def digest(self) -> bytes:
        return record_digest(self.tick, self.zones, self.vmstat, self.scanners, self.events)


class RunHash:
    """``frame_hash`` of a run: blake2b-16 over the `TickRecord` digest of every tick from 0 on, then
    the whole `Frame.digest()` of the last tick.

    The chain shows that two runs went through the same counters, tables, cursors and events at
    every tick; the last frame's digest, that they end on the same pages. `zonescope run --json`
    and the dashboard's sessions compute it the same way, so a link's hash matches its session's."""

    __slots__ = ("_h",)

    def __init__(self) -> None:
        self._h = hashlib.blake2b(digest_size=16)

    def add(self, record_digest: bytes) -> None:
        """One more tick (its `TickRecord.digest()` or `Frame.record_digest()`)."""
        self._h.update(record_digest)

    def copy(self) -> RunHash:
        out = RunHash()
        out._h = self._h.copy()
        return out

    def hexdigest(self, last: Frame) -> str:
        """The hash of the run so far, ending at frame `last` (the current tick's)."""
        h = self._h.copy()
        h.update(last.digest())
        return h.hexdigest()


@dataclass(frozen=True, slots=True)
class Frame:
    tick: int
    nr_pages: int
    pb_mt: np.ndarray  # uint8 per pageblock
    pb_free: np.ndarray  # uint16 free pages per pageblock
    pb_movable: np.ndarray  # uint16 movable pages
    pb_reclaimable: np.ndarray  # uint16
    pb_unmovable: np.ndarray  # uint16
    pb_largest_order: np.ndarray  # int8 largest free order inside the block (-1 none)
    pb_skip: np.ndarray  # uint8 PB_compact_skip
    pb_skip_reason: np.ndarray  # uint8 SkipReason code (last reason a scanner passed it by)
    page_kind: np.ndarray  # uint8 per page (PageKind)
    zones: tuple[ZoneFrame, ...]
    vmstat: dict[str, int]
    scanners: tuple[ScannerFrame, ...] = ()
    events: tuple[Event, ...] = ()
    #: the pressure subsystem's panel data (None without `[pressure]`); not part of `digest()`
    pressure: PressureFrame | None = None

    def record(self) -> TickRecord:
        """This frame without its arrays."""
        return TickRecord(self.tick, self.zones, self.vmstat, self.scanners, self.events)

    def record_digest(self) -> bytes:
        """The digest of this frame's `TickRecord` (no arrays): what `RunHash` chains."""
        return record_digest(self.tick, self.zones, self.vmstat, self.scanners, self.events)

    def digest(self) -> bytes:
        """A digest of the frame's content (arrays, tables, counters, events)."""
        h = hashlib.blake2b(digest_size=16)
        h.update(self.tick.to_bytes(8, "little"))
        for arr in (self.pb_mt, self.pb_free, self.pb_skip, self.pb_largest_order, self.page_kind):
            h.update(np.ascontiguousarray(arr).tobytes())
        for z in self.zones:
            h.update(repr((z.free_pages, z.free_area, z.watermark_boost)).encode())
        h.update(repr(sorted(self.vmstat.items())).encode())
        h.update(repr([(s.migrate_pfn, s.free_pfn, s.active) for s in self.scanners]).encode())
        h.update(repr(self.events).encode())
        return h.digest()


def pageblock_lenses(kind: np.ndarray, buddy: np.ndarray) -> dict[str, np.ndarray]:
    """Per-pageblock summaries of the per-page arrays (`simcore.kernels.summary`, one compiled pass)."""
    nb = kind.size // PAGEBLOCK_NR_PAGES
    counts = np.empty((4, nb), dtype=np.uint16)
    top = np.empty(nb, dtype=np.int16)
    pageblock_summary(kind, buddy, MOBILITY, counts, top)
    largest = top - 1
    # an order-10 block spans two pageblocks: its second block has no head of its own
    tens = np.flatnonzero(largest == 10)
    tens = tens[tens + 1 < nb]
    largest[tens + 1] = 10
    return {
        "pb_free": counts[0],
        "pb_movable": counts[1],
        "pb_reclaimable": counts[2],
        "pb_unmovable": counts[3],
        "pb_largest_order": largest.astype(np.int8),
    }
