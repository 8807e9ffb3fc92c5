"""Whether to compact (`compaction_suitable`) and when to stop (`__compact_finished`)."""

from __future__ import annotations

from simcore.compaction.context import Compactor
from simcore.compaction.control import CompactControl, CompactResult
from simcore.compaction.events import MmCompactionFinished, MmCompactionSuitable
from simcore.constants import (
    MIGRATE_PCPTYPES,
    NR_PAGE_ORDERS,
    PAGE_ALLOC_COSTLY_ORDER,
    PAGEBLOCK_NR_PAGES,
    PAGEBLOCK_ORDER,
)
from simcore.fragmentation import fill_contig_page_info, fragmentation_index
from simcore.node import Node
from simcore.watermarks import ALLOC_WMARK_MIN, zone_watermark_ok
from simcore.zone import WMARK_LOW, WMARK_MIN, Zone

#: COMPACTION_HPAGE_ORDER on x86-64: the order proactive compaction works for.
COMPACTION_HPAGE_ORDER = PAGEBLOCK_ORDER


# enum members compact_finished() reads in every step, bound once (an Enum class attribute is a slow lookup)
_CONTINUE = CompactResult.CONTINUE
_COMPLETE = CompactResult.COMPLETE
_PARTIAL_SKIPPED = CompactResult.PARTIAL_SKIPPED
_SUCCESS = CompactResult.SUCCESS
_NO_SUITABLE_PAGE = CompactResult.NO_SUITABLE_PAGE
_CONTENDED = CompactResult.CONTENDED


def compact_gap(order: int) -> int:
    """`compact_gap()`: free pages compaction needs beyond the watermark (2 << order)."""
    return 2 << order


def zone_fragindex(zone: Zone, order: int) -> int:
    """`fragmentation_index(zone, order)`: -1000 if a block of the order is free, else 0..1000."""
    return fragmentation_index(fill_contig_page_info(zone.nr_free_per_order(), order), order)


def compaction_suitable(
    node: Node,
    zone: Zone,
    order: int,
    highest_zoneidx: int,
    extfrag_threshold: int,
    old: bool,
    alloc_flags: int = ALLOC_WMARK_MIN,
) -> CompactResult:
    """Models `compaction_suitable()` (4.x-6.1 shape; 2.6.35 when `old`).

    SUCCESS if the allocation would already succeed; SKIPPED if even after compaction the order-0
    watermark plus `compact_gap` would not hold (compaction needs free pages to migrate into);
    for costly orders, NOT_SUITABLE_ZONE (reported as SKIPPED) when the fragmentation index says a
    failure would be for lack of memory, not fragmentation (0 <= index <= extfrag_threshold).
    2.6.35 checked low + 2^order and applied the index to every order.
    """
    if order < 0:
        return CompactResult.CONTINUE
    if old:
        watermark = zone.wmark(WMARK_LOW) + (1 << order)
        if not zone_watermark_ok(zone, 0, watermark, 0, 0):
            ret = CompactResult.SKIPPED
        else:
            fragindex = zone_fragindex(zone, order)
            if 0 <= fragindex <= extfrag_threshold:
                ret = CompactResult.NOT_SUITABLE_ZONE
            elif fragindex == -1000 and zone_watermark_ok(zone, order, watermark, 0, 0):
                ret = CompactResult.SUCCESS
            else:
                ret = CompactResult.CONTINUE
    else:
        watermark = zone.wmark(alloc_flags & 0x3)
        if zone_watermark_ok(zone, order, watermark, highest_zoneidx, alloc_flags):
            ret = CompactResult.SUCCESS
        else:
            watermark = zone.wmark(WMARK_LOW if order > PAGE_ALLOC_COSTLY_ORDER else WMARK_MIN)
            watermark += compact_gap(order)
            if not zone_watermark_ok(zone, 0, watermark, highest_zoneidx, 0):
                ret = CompactResult.SKIPPED
            else:
                ret = CompactResult.CONTINUE
                if order > PAGE_ALLOC_COSTLY_ORDER:
                    fragindex = zone_fragindex(zone, order)
                    if 0 <= fragindex <= extfrag_threshold:
                        ret = CompactResult.NOT_SUITABLE_ZONE
    if old or ret != CompactResult.SUCCESS:
        # 6.4+: the "allocation already succeeds" answer comes from the watermark check before
        # compaction_suitable(), which traces only continue, skipped and not_suitable_zone
        node.emit(MmCompactionSuitable(node.tick, node.nid, zone.idx, order, int(ret)))
    if ret == CompactResult.NOT_SUITABLE_ZONE:
        ret = CompactResult.SKIPPED
    return ret


def fragmentation_score_zone(zone: Zone) -> int:
    """`fragmentation_score_zone()` = `extfrag_for_order(zone, COMPACTION_HPAGE_ORDER)`: percent of
    free memory not in free blocks of order >= 9."""
    info = fill_contig_page_info(zone.nr_free_per_order(), COMPACTION_HPAGE_ORDER)
    if not info.free_pages:
        return 0
    return (info.free_pages - (info.free_blocks_suitable << COMPACTION_HPAGE_ORDER)) * 100 // info.free_pages


def fragmentation_score_node(node: Node) -> int:
    """`fragmentation_score_node()`: zone scores weighted by present pages."""
    total = sum(z.present for z in node.zones)
    return sum(z.present * fragmentation_score_zone(z) // (total + 1) for z in node.zones)


def fragmentation_score_wmark(proactiveness: int, low: bool) -> int:
    """`fragmentation_score_wmark()`: low = max(100 - proactiveness, 5); high = min(low + 10, 100)."""
    wmark_low = max(100 - proactiveness, 5)
    return wmark_low if low else min(wmark_low + 10, 100)


def _free_block_of_type(zone: Zone, order: int, mt: int) -> tuple[bool, bool]:
    """(a free block of >= order on the type's list, a claimable fallback block of >= order)."""
    fa = zone.free_area
    for o in range(order, NR_PAGE_ORDERS):
        if fa[o][mt]:
            return True, False
        if mt < MIGRATE_PCPTYPES and zone.find_suitable_fallback(o, mt, True) >= 0:
            return False, True
    return False, False


def compact_finished(c: Compactor, cc: CompactControl) -> CompactResult:
    """Models `compact_finished()` / `__compact_finished()`, checks in the kernel's order.

    Scanners met -> COMPLETE (whole zone) or PARTIAL_SKIPPED; proactive: score <= low watermark ->
    SUCCESS; manual (order -1): continue until they meet; the migration scanner in the middle of a
    pageblock -> continue; a free block of the requested order and type, or a claimable fallback,
    -> SUCCESS; else NO_SUITABLE_PAGE (traced, then treated as continue).
    """
    node = c.node
    zone = cc.zone
    ret: CompactResult
    if c.old:
        ret = _compact_finished_2_6_35(cc)
        node.emit(MmCompactionFinished(node.tick, node.nid, zone.idx, cc.order, int(ret)))
        return ret
    if cc.scanners_met(False):
        reset_cached_positions(zone)
        if cc.direct_compaction:
            c.blockskip_flush.add(zone.idx)
        ret = _COMPLETE if cc.whole_zone else _PARTIAL_SKIPPED
    elif cc.proactive_compaction:
        score = fragmentation_score_zone(zone)
        low = fragmentation_score_wmark(c.settings.proactiveness, True)
        ret = _CONTINUE if score > low else _SUCCESS
    elif cc.order < 0 or cc.migrate_pfn & (PAGEBLOCK_NR_PAGES - 1):
        ret = _CONTINUE
    else:
        ret = _NO_SUITABLE_PAGE
        own, fallback = _free_block_of_type(zone, cc.order, cc.migratetype)
        # a claimable fallback also counts: the current pageblock is finished (checked above)
        if own or fallback:
            ret = _SUCCESS
    if cc.contended:
        ret = _CONTENDED
    node.emit(MmCompactionFinished(node.tick, node.nid, zone.idx, cc.order, int(ret)))
    if ret == _NO_SUITABLE_PAGE:
        ret = _CONTINUE
    return ret


def _compact_finished_2_6_35(cc: CompactControl) -> CompactResult:
    """2.6.35 `compact_finished()`: met; the order's watermark (low + 2^order) must hold; manual
    continues; a free page of the order on the type's list, or any block >= pageblock_order."""
    zone = cc.zone
    if cc.scanners_met(True):
        return CompactResult.COMPLETE
    order = max(cc.order, 0)
    watermark = zone.wmark(WMARK_LOW) + (1 << order)
    if not zone_watermark_ok(zone, order, watermark, 0, 0):
        return CompactResult.CONTINUE
    if cc.order < 0:
        return CompactResult.CONTINUE
    for o in range(cc.order, NR_PAGE_ORDERS):
        if zone.free_area[o][cc.migratetype]:
            return CompactResult.SUCCESS
        if o >= PAGEBLOCK_ORDER and zone.nr_free(o):
            return CompactResult.SUCCESS
    return CompactResult.CONTINUE


def reset_cached_positions(zone: Zone) -> None:
    """`reset_cached_positions()`: the next run starts from the zone's ends."""
    zone.compact_cached_migrate_pfn[0] = zone.start_pfn
    zone.compact_cached_migrate_pfn[1] = zone.start_pfn
    zone.compact_cached_free_pfn = zone.last_pageblock_start()


def reset_isolation_suitable(node: Node, zone: Zone) -> None:
    """`__reset_isolation_suitable()`: clear every skip bit of the zone and the cached positions."""
    first = zone.first_block
    node.pb_skip[first : first + zone.nr_blocks] = bytes(zone.nr_blocks)
    reset_cached_positions(zone)
