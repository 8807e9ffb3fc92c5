"""Deferred compaction: after a failure, skip the next 1, 2, 4 ... 64 attempts at that order or above.

Models `defer_compaction()`, `compaction_deferred()`, `compaction_defer_reset()` and
`compaction_restarting()` (mm/compaction.c), with the zone fields ``compact_considered``,
``compact_defer_shift`` and ``compact_order_failed``.
"""

from __future__ import annotations

from simcore.compaction.events import (
    MmCompactionDeferCompaction,
    MmCompactionDeferred,
    MmCompactionDeferReset,
)
from simcore.node import Node
from simcore.zone import Zone

COMPACT_MAX_DEFER_SHIFT = 6


def _fields(node: Node, zone: Zone, order: int) -> tuple[int, int, int, int, int, int, int]:
    return (
        node.tick,
        node.nid,
        zone.idx,
        order,
        zone.compact_considered,
        zone.compact_defer_shift,
        zone.compact_order_failed,
    )


def defer_compaction(node: Node, zone: Zone, order: int) -> None:
    """A compaction at `order` failed: double the number of attempts to skip (at most 64)."""
    zone.compact_considered = 0
    zone.compact_defer_shift += 1
    if order < zone.compact_order_failed:
        zone.compact_order_failed = order
    if zone.compact_defer_shift > COMPACT_MAX_DEFER_SHIFT:
        zone.compact_defer_shift = COMPACT_MAX_DEFER_SHIFT
    node.emit(MmCompactionDeferCompaction(*_fields(node, zone, order)))


def compaction_deferred(node: Node, zone: Zone, order: int) -> bool:
    """True if this attempt is to be skipped (orders below the failed one are never deferred)."""
    defer_limit = 1 << zone.compact_defer_shift
    if order < zone.compact_order_failed:
        return False
    zone.compact_considered += 1
    if zone.compact_considered >= defer_limit:
        zone.compact_considered = defer_limit
        return False
    node.emit(MmCompactionDeferred(*_fields(node, zone, order)))
    return True


def compaction_defer_reset(node: Node, zone: Zone, order: int, alloc_success: bool) -> None:
    """Compaction (or the allocation after it) succeeded at `order`."""
    if alloc_success:
        zone.compact_considered = 0
        zone.compact_defer_shift = 0
    if order >= zone.compact_order_failed:
        zone.compact_order_failed = order + 1
    node.emit(MmCompactionDeferReset(*_fields(node, zone, order)))


def compaction_restarting(zone: Zone, order: int) -> bool:
    """After the full 64 skipped attempts, the next run starts afresh (skip bits cleared)."""
    if order < zone.compact_order_failed:
        return False
    return (
        zone.compact_defer_shift == COMPACT_MAX_DEFER_SHIFT
        and zone.compact_considered >= 1 << zone.compact_defer_shift
    )
