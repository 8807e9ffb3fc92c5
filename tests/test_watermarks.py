"""Watermarks, lowmem reserves and the watermark check, against hand-worked and real-kernel values."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from zone_helpers import build_node, split_to_order0, take_all_free

from simcore.buddy import FreeLists
from simcore.constants import MigrateType, PageKind, ZoneType
from simcore.invariants import check
from simcore.watermarks import (
    ALLOC_HIGHATOMIC,
    ALLOC_WMARK_MIN,
    calculate_min_free_kbytes,
    setup_per_zone_lowmem_reserve,
    setup_per_zone_wmarks,
    zone_watermark_ok,
)
from simcore.zone import WMARK_HIGH, WMARK_LOW, WMARK_MIN, WMARK_PROMO, Zone


def bare_zone(ztype: ZoneType, managed: int) -> Zone:
    """A zone object for the arithmetic only: geometry from `managed`, no page arrays."""
    z = Zone(ztype, 0, managed, bytearray(), bytearray(), bytearray(), bytearray(), FreeLists(0, 1), 0)
    z.managed = managed
    return z


# this machine (kernel 6.18, 24 GiB): /proc/sys/vm/min_free_kbytes and the managed pages of
# tests/data/kernel/zoneinfo.txt
MACHINE_MIN_FREE_KBYTES = 67584
MACHINE_ZONES = [
    (ZoneType.DMA, 3840),
    (ZoneType.DMA32, 772918),
    (ZoneType.NORMAL, 163840),
    (ZoneType.MOVABLE, 0),
]


def machine_zones() -> list[Zone]:
    zones = [bare_zone(t, m) for t, m in MACHINE_ZONES]
    setup_per_zone_wmarks(zones, MACHINE_MIN_FREE_KBYTES, 10)
    setup_per_zone_lowmem_reserve(zones, 5)
    return zones


def test_watermarks_of_this_machine_by_hand() -> None:
    dma, dma32, normal, movable = machine_zones()
    # pages_min = 67584 >> 2 = 16896, shared by managed pages of 940598 lowmem pages
    # DMA: 16896 * 3840 // 940598 = 68; tmp = max(68 >> 2, 3840 * 10 // 10000) = 17
    assert dma.watermark == [68, 85, 102, 119]
    # DMA32: 13883; tmp = max(3470, 772) = 3470
    assert dma32.watermark == [13883, 17353, 20823, 24293]
    # Normal: 2943; tmp = max(735, 163) = 735
    assert normal.watermark == [2943, 3678, 4413, 5148]
    # Movable (highmem-like): clamp(managed / 1024, SWAP_CLUSTER_MAX, 128) = 32, tmp 0
    assert movable.watermark == [32, 32, 32, 32]
    # lowmem_reserve[j] = managed pages of zones above, up to j, / lowmem_reserve_ratio (256 DMA/DMA32)
    assert dma.lowmem_reserve == [0, 3019, 3659, 3659, 3659]
    assert dma32.lowmem_reserve == [0, 0, 640, 640, 640]
    assert normal.lowmem_reserve == [0, 0, 0, 0, 0]


WMARK_LINE = r" {2}pages free {5}(\d+)| {8}(boost|min|low|high|promo|spanned|present|managed) +(\d+)"


def parse_zoneinfo(text: str) -> dict[str, dict[str, object]]:
    zones: dict[str, dict[str, object]] = {}
    current: dict[str, object] = {}
    for line in text.splitlines():
        m = re.fullmatch(r"Node (\d+), zone +(\w+)", line)
        if m:
            current = zones.setdefault(m.group(2), {})
            continue
        m = re.fullmatch(WMARK_LINE, line)
        if m:
            if m.group(1) is not None:
                current["free"] = int(m.group(1))
            else:
                current[m.group(2)] = int(m.group(3))
        m = re.fullmatch(r" {8}protection: \((\d+(?:, \d+)*)\)", line)
        if m:
            current["protection"] = [int(x) for x in m.group(1).split(", ")]
    return zones


def test_watermarks_reproduce_the_real_zoneinfo(kernel_sample: Callable[[str], str]) -> None:
    real = parse_zoneinfo(kernel_sample("zoneinfo"))
    zones = [
        bare_zone(t, int(str(real[name]["managed"])))
        for t, name in (
            (ZoneType.DMA, "DMA"),
            (ZoneType.DMA32, "DMA32"),
            (ZoneType.NORMAL, "Normal"),
            (ZoneType.MOVABLE, "Movable"),
        )
    ]
    setup_per_zone_wmarks(zones, MACHINE_MIN_FREE_KBYTES, 10)
    setup_per_zone_lowmem_reserve(zones, 5)
    for z in zones:
        r = real[z.name]
        assert [r["min"], r["low"], r["high"], r["promo"]] == z.watermark, z.name
        assert r["protection"] == z.lowmem_reserve, z.name


@pytest.mark.parametrize(
    ("lowmem_pages", "expected"),
    [
        (100, 128),  # int_sqrt(400 * 16) = 80 -> clamped up to 128
        (262144, 4096),  # 1 GiB: int_sqrt(1048576 * 16) = 4096
        (6291456, 20066),  # 24 GiB: int_sqrt(25165824 * 16) = 20066 (20066^2 <= 402653184 < 20067^2)
        (1 << 32, 262144),  # 16 TiB: int_sqrt = 524288 -> clamped down to 262144
    ],
)
def test_calculate_min_free_kbytes(lowmem_pages: int, expected: int) -> None:
    assert calculate_min_free_kbytes(lowmem_pages) == expected


def test_node_derives_min_free_kbytes_and_marks_from_its_zones() -> None:
    node = build_node([("Normal", 262144)])
    z = node.zones[0]
    assert node.min_free_kbytes == 4096
    # pages_min 1024; tmp = max(256, 262144 * 10 // 10000 = 262) = 262
    assert z.watermark[WMARK_MIN] == 1024
    assert z.watermark[WMARK_LOW] == 1286
    assert z.watermark[WMARK_HIGH] == 1548
    assert z.watermark[WMARK_PROMO] == 1810


def test_watermark_scale_factor_widens_the_gaps() -> None:
    node = build_node([("Normal", 262144)], watermark_scale_factor=100)
    z = node.zones[0]
    # tmp = max(256, 262144 * 100 // 10000 = 2621)
    assert z.watermark[:3] == [1024, 1024 + 2621, 1024 + 2 * 2621]


def test_two_zone_node_shares_min_free_kbytes_by_managed_pages() -> None:
    node = build_node([("DMA32", 3 * 512), ("Normal", 9 * 512)], min_free_kbytes=1024)
    dma32, normal = node.zones
    # pages_min 256: 256 * 1536 // 6144 = 64 and 256 * 4608 // 6144 = 192
    assert (dma32.watermark[WMARK_MIN], normal.watermark[WMARK_MIN]) == (64, 192)
    # DMA32 ratio 256: 4608 // 256 = 18 pages kept from Normal-capable requests
    assert dma32.lowmem_reserve[:3] == [0, 0, 18]
    assert normal.lowmem_reserve == [0, 0, 0, 0, 0]


# ------------------------------------------------------------------------ __zone_watermark_ok
def test_order0_check_is_strictly_above_the_mark() -> None:
    z = build_node([("Normal", 2048)]).zones[0]
    assert zone_watermark_ok(z, 0, 100, 2, ALLOC_WMARK_MIN, free_pages=101)
    assert not zone_watermark_ok(z, 0, 100, 2, ALLOC_WMARK_MIN, free_pages=100)


def test_order_correction_subtracts_one_less_than_the_request() -> None:
    z = build_node([("Normal", 2048)]).zones[0]
    # order 3: free - 7 must be > mark
    assert zone_watermark_ok(z, 3, 100, 2, ALLOC_WMARK_MIN, free_pages=108)
    assert not zone_watermark_ok(z, 3, 100, 2, ALLOC_WMARK_MIN, free_pages=107)
    # order 10: free - 1023
    assert zone_watermark_ok(z, 10, 100, 2, ALLOC_WMARK_MIN, free_pages=1124)
    assert not zone_watermark_ok(z, 10, 100, 2, ALLOC_WMARK_MIN, free_pages=1123)


def test_lowmem_reserve_is_added_for_requests_that_could_use_a_higher_zone() -> None:
    node = build_node([("DMA32", 3 * 512), ("Normal", 9 * 512)], min_free_kbytes=1024)
    dma32 = node.zones[0]
    mark = dma32.watermark[WMARK_MIN]  # 64; reserve against Normal-capable requests 18
    assert zone_watermark_ok(dma32, 0, mark, ZoneType.DMA32, ALLOC_WMARK_MIN, free_pages=mark + 1)
    assert not zone_watermark_ok(dma32, 0, mark, ZoneType.NORMAL, ALLOC_WMARK_MIN, free_pages=mark + 18)
    assert zone_watermark_ok(dma32, 0, mark, ZoneType.NORMAL, ALLOC_WMARK_MIN, free_pages=mark + 19)


def test_high_order_check_needs_a_free_block_of_that_order() -> None:
    # plenty of free pages, but only order-0 blocks: order 0 passes, order 1 fails
    node = build_node([("Normal", 2048)], min_free_kbytes=128)
    z = node.zones[0]
    sid = take_all_free(node, PageKind.ANON)
    split_to_order0(node, sid)
    for pfn in range(0, 2048, 2):
        node.free_alloc(pfn)
    check(node)
    assert z.free_pages == 1024
    assert z.nr_free_per_order() == [1024] + [0] * 10
    assert zone_watermark_ok(z, 0, 32, 2, ALLOC_WMARK_MIN)
    assert not zone_watermark_ok(z, 1, 32, 2, ALLOC_WMARK_MIN)
    # one free order-1 block makes order 1 pass, order 2 still fails
    node.free_alloc(1)
    assert z.nr_free_per_order()[:2] == [1023, 1]
    assert zone_watermark_ok(z, 1, 32, 2, ALLOC_WMARK_MIN)
    assert not zone_watermark_ok(z, 2, 32, 2, ALLOC_WMARK_MIN)


def test_highatomic_free_list_counts_only_for_highatomic_requests() -> None:
    node = build_node([("Normal", 2048)], min_free_kbytes=128)
    z = node.zones[0]
    sid = take_all_free(node, PageKind.ANON)
    split_to_order0(node, sid)
    for pfn in range(0, 2048, 2):
        node.free_alloc(pfn)
    z.move_freepages_block(1536, MigrateType.HIGHATOMIC)
    # move one order-1 free block onto the HighAtomic list of pageblock 3
    node.free_alloc(1537)
    assert list(z.free_area[1][MigrateType.HIGHATOMIC]) == [1536]
    assert not zone_watermark_ok(z, 1, 32, 2, ALLOC_WMARK_MIN)
    assert zone_watermark_ok(z, 1, 32, 2, ALLOC_WMARK_MIN | ALLOC_HIGHATOMIC)


# --------------------------------------------------------------------------------- the boost
def test_boost_grows_by_a_pageblock_up_to_high_times_boost_factor() -> None:
    z = bare_zone(ZoneType.NORMAL, 16 * 512)
    z.watermark[WMARK_HIGH] = 1000
    # cap = max(512, 1000 * 15000 // 10000 = 1500)
    for expected in (512, 1024, 1500, 1500):
        assert z.boost_watermark()
        assert z.watermark_boost == expected
    assert z.wmark_low == z.watermark[WMARK_LOW] + 1500


def test_boost_cap_is_at_least_one_pageblock() -> None:
    z = bare_zone(ZoneType.NORMAL, 16 * 512)
    z.watermark[WMARK_HIGH] = 102
    z.boost_watermark()
    z.boost_watermark()
    assert z.watermark_boost == 512


def test_boost_factor_zero_disables_boosting() -> None:
    node = build_node([("Normal", 2048)], watermark_boost_factor=0)
    assert node.zones[0].boost_watermark() is False
    assert node.zones[0].watermark_boost == 0
