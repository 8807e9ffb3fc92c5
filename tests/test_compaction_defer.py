"""Deferred compaction: 1, 2, 4 ... 64 attempts, order_failed, reset, restart."""

from __future__ import annotations

from zone_helpers import build_node

from simcore.compaction.defer import (
    COMPACT_MAX_DEFER_SHIFT,
    compaction_defer_reset,
    compaction_deferred,
    compaction_restarting,
    defer_compaction,
)
from simcore.compaction.events import MmCompactionDeferCompaction
from simcore.trace import format_body


def skipped_until_tried(node, zone, order: int) -> int:  # type: ignore[no-untyped-def]
    n = 0
    while compaction_deferred(node, zone, order):
        n += 1
        assert n < 1000
    return n


def test_deferral_limits_double_to_64() -> None:
    node = build_node([("Normal", 2048)])
    zone = node.zones[0]
    limits = [1 << zone.compact_defer_shift]
    skipped = [skipped_until_tried(node, zone, 9)]
    for _ in range(8):
        defer_compaction(node, zone, 9)
        limits.append(1 << zone.compact_defer_shift)
        skipped.append(skipped_until_tried(node, zone, 9))
    assert limits == [1, 2, 4, 8, 16, 32, 64, 64, 64]
    # each failure skips limit - 1 attempts before the next real one
    assert skipped == [lim - 1 for lim in limits]
    assert zone.compact_defer_shift == COMPACT_MAX_DEFER_SHIFT
    # after the full 64 the next run restarts afresh
    assert compaction_restarting(zone, 9)
    limit_printed = [
        format_body(e).split("limit=")[1] for e in node.events if isinstance(e, MmCompactionDeferCompaction)
    ]
    assert limit_printed == ["2", "4", "8", "16", "32", "64", "64", "64"]


def test_lower_orders_are_not_deferred_and_success_resets() -> None:
    node = build_node([("Normal", 2048)])
    zone = node.zones[0]
    zone.compact_order_failed = 10
    defer_compaction(node, zone, 9)
    defer_compaction(node, zone, 9)
    assert zone.compact_order_failed == 9
    assert not compaction_deferred(node, zone, 8)  # below order_failed: never deferred
    assert compaction_deferred(node, zone, 9)
    compaction_defer_reset(node, zone, 9, alloc_success=True)
    assert (zone.compact_considered, zone.compact_defer_shift, zone.compact_order_failed) == (0, 0, 10)
    assert not compaction_deferred(node, zone, 9)
    # a tentative reset (compaction said success, allocation not yet done) keeps the shift
    defer_compaction(node, zone, 9)
    compaction_defer_reset(node, zone, 9, alloc_success=False)
    assert zone.compact_defer_shift == 1
