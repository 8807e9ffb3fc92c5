"""The /proc renderers against files recorded from this machine (tests/data/kernel, kernel 6.18).

Real and simulated text go through the same strict parsers: the kernel's seq_printf widths are
checked column by column, so a drift in either the renderer or our reading of the format fails.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from simcore.procfs import PROC_FILES, buddyinfo, pagetypeinfo, render, vmstat, zoneinfo
from simcore.scenario import validate_scenario
from simcore.simulation import Simulation

Sample = Callable[[str], str]


@pytest.fixture(scope="module")
def sim() -> Simulation:
    """Three zones, as on a real x86-64 machine, after a short mixed workload."""
    s = Simulation(validate_scenario({
        "name": "procfs",
        "seed": 3,
        "node": {"zones": [{"name": "DMA", "pages": 4096}, {"name": "DMA32", "pages": 8192},
                           {"name": "Normal", "pages": 16384}]},
        "workload": {"events_per_tick": 400, "target_occupancy": 0.8, "streams": [
            {"name": "anon", "class": "anon", "weight": 5, "orders": {0: 80, 2: 10, 9: 1}, "owner": "app"},
            {"name": "slab", "class": "slab_unmovable", "weight": 2, "orders": {0: 8, 1: 2}},
            {"name": "dentry", "class": "slab_reclaimable", "weight": 1},
        ]},
    }))
    s.run_until(25)
    return s


def columns(text: str, width: int) -> list[str]:
    """Split fixed-width fields ("%<width-1>lu " each); every field must be right-aligned digits."""
    assert len(text) % width == 0, repr(text)
    fields = [text[i : i + width] for i in range(0, len(text), width)]
    for f in fields:
        assert re.fullmatch(rf"(?: *\d+|>\d{{{width - 1}}}) ", f) and len(f) == width, repr(f)
    return [f.strip().lstrip(">") for f in fields]


# ------------------------------------------------------------------------------- buddyinfo
def parse_buddyinfo(text: str) -> list[tuple[str, list[int]]]:
    """frag_show_print(): "Node %d, zone %8s " then "%6lu " per order 0..10, then a newline."""
    assert text.endswith("\n")
    rows = []
    for line in text.splitlines():
        m = re.fullmatch(r"Node (\d+), zone (.{8}) (.*)", line)
        assert m, repr(line)
        name = m.group(2)
        assert name == f"{name.strip():>8}"
        counts = [int(c) for c in columns(m.group(3), 7)]
        assert len(counts) == 11
        rows.append((name.strip(), counts))
    return rows


def test_buddyinfo_format_real_and_simulated(kernel_sample: Sample, sim: Simulation) -> None:
    real = parse_buddyinfo(kernel_sample("buddyinfo"))
    assert [name for name, _ in real] == ["DMA", "DMA32", "Normal"]
    ours = parse_buddyinfo(buddyinfo(sim.node))
    assert [name for name, _ in ours] == ["DMA", "DMA32", "Normal"]
    for (_, counts), z in zip(ours, sim.node.zones, strict=True):
        assert counts == z.nr_free_per_order()
        assert sum(c << o for o, c in enumerate(counts)) == z.free_pages


# ---------------------------------------------------------------------------- pagetypeinfo
TYPES = ["Unmovable", "Movable", "Reclaimable", "HighAtomic", "Isolate"]


def parse_pagetypeinfo(text: str) -> tuple[list[str], dict[tuple[str, str], list[int]], dict[str, list[int]]]:
    lines = text.split("\n")
    header = lines[:4]
    assert header[0] == "Page block order: 9"
    assert header[1] == "Pages per block:  512"
    assert header[2] == ""
    # "%-43s " then "%6d " per order
    assert header[3][:44] == f"{'Free pages count per migrate type at order':<43} "
    assert [int(c) for c in columns(header[3][44:], 7)] == list(range(11))
    free: dict[tuple[str, str], list[int]] = {}
    i = 4
    while lines[i]:
        # pagetypeinfo_showfree_print(): "Node %4d, zone %8s, type %12s " then "%6lu " per order
        m = re.fullmatch(r"Node (.{4}), zone (.{8}), type (.{12}) (.*)", lines[i])
        assert m, repr(lines[i])
        assert m.group(1) == f"{int(m.group(1)):4d}"
        zone, mt = m.group(2).strip(), m.group(3).strip()
        assert m.group(3) == f"{mt:>12}" and m.group(2) == f"{zone:>8}"
        free[(zone, mt)] = [int(c) for c in columns(m.group(4), 7)]
        assert len(free[(zone, mt)]) == 11
        i += 1
    i += 1
    # pagetypeinfo_showblockcount(): "\n%-23s" "Number of blocks type ", "%12s " per type
    assert lines[i] == f"{'Number of blocks type ':<23}" + "".join(f"{t:>12} " for t in TYPES)
    blocks: dict[str, list[int]] = {}
    for line in lines[i + 1 :]:
        if not line:
            continue
        m = re.fullmatch(r"Node (\d+), zone (.{8}) (.*)", line)
        assert m, repr(line)
        blocks[m.group(2).strip()] = [int(c) for c in columns(m.group(3), 13)]
    assert text.endswith("\n")
    return header, free, blocks


def test_pagetypeinfo_format_real_and_simulated(kernel_sample: Sample, sim: Simulation) -> None:
    real_header, real_free, real_blocks = parse_pagetypeinfo(kernel_sample("pagetypeinfo"))
    header, free, blocks = parse_pagetypeinfo(pagetypeinfo(sim.node))
    assert header == real_header
    # one row per (zone, type), zones in node order and types in enum order, as in the real file
    assert list(free) == list(real_free)
    assert list(blocks) == list(real_blocks)
    for z in sim.node.zones:
        for mt, name in enumerate(TYPES):
            assert free[(z.name, name)] == [z.free_count(o, mt) for o in range(11)]
        assert blocks[z.name] == z.block_type_counts()
        assert sum(blocks[z.name]) == z.spanned // 512


def test_pagetypeinfo_caps_counts_at_100000(sim: Simulation) -> None:
    node = Simulation(validate_scenario({"node": {"zones": [{"name": "Normal", "pages": 262144}]},
                                         "workload": {"events_per_tick": 0}})).node
    z = node.zones[0]
    # split the 256 order-10 blocks into 262144 order-0 Movable blocks by hand
    pfns = list(z.free_area[10][1])
    for pfn in pfns:
        z.del_free_block(pfn, 10)
        for p in range(pfn, pfn + 1024):
            z.add_free_block(p, 0)
    text = pagetypeinfo(node)
    row = next(line for line in text.splitlines() if "type      Movable" in line)
    assert row.endswith(">100000      0      0      0      0      0      0      0      0      0      0 ")


# ---------------------------------------------------------------------------------- vmstat
def parse_vmstat(text: str) -> list[tuple[str, int]]:
    assert text.endswith("\n")
    out = []
    for line in text.splitlines():
        m = re.fullmatch(r"([a-z0-9_]+) (-?\d+)", line)
        assert m, repr(line)
        out.append((m.group(1), int(m.group(2))))
    return out


def test_vmstat_names_are_a_subsequence_of_the_real_file(kernel_sample: Sample, sim: Simulation) -> None:
    real = [name for name, _ in parse_vmstat(kernel_sample("vmstat"))]
    ours = [name for name, _ in parse_vmstat(vmstat(sim.node))]
    missing = [n for n in ours if n not in real]
    assert missing == []
    positions = [real.index(n) for n in ours]
    assert positions == sorted(positions), "counters out of the kernel's order"
    assert len(set(ours)) == len(ours)


def test_vmstat_values(sim: Simulation) -> None:
    values = dict(parse_vmstat(vmstat(sim.node)))
    node = sim.node
    assert values["nr_free_pages"] == node.free_pages == sum(z.free_pages for z in node.zones)
    assert values["pgalloc_normal"] + values["pgalloc_dma32"] + values["pgalloc_dma"] > 0
    assert values["nr_slab_unreclaimable"] > 0
    assert values["nr_slab_reclaimable"] > 0
    assert "pgalloc_high" not in values  # x86-64 has no HighMem zone


# -------------------------------------------------------------------------------- zoneinfo
ZONE_BLOCK = [
    r"  pages free     (\d+)",
    r"        boost    (\d+)",
    r"        min      (\d+)",
    r"        low      (\d+)",
    r"        high     (\d+)",
    r"        promo    (\d+)",
    r"        spanned  (\d+)",
    r"        present  (\d+)",
    r"        managed  (\d+)",
    r"        cma      (\d+)",
    r"        protection: \((\d+(?:, \d+)*)\)",
]


def parse_zoneinfo(text: str) -> dict[str, dict[str, object]]:
    """zoneinfo_show_print(): the zone header, per-node stats (first zone), the watermark block,
    the zone counters ("      %-12s %lu"), node_unreclaimable and start_pfn."""
    zones: dict[str, dict[str, object]] = {}
    blocks = re.split(r"^(?=Node \d+, zone )", text, flags=re.M)
    for block in filter(None, blocks):
        lines = block.rstrip("\n").split("\n")
        m = re.fullmatch(r"Node (\d+), zone (.{8})", lines[0])
        assert m, repr(lines[0])
        name = m.group(2).strip()
        info: dict[str, object] = {"node_stats": [], "zone_stats": []}
        i = 1
        if lines[i] == "  per-node stats":
            i += 1
            while lines[i].startswith("      "):
                info["node_stats"].append(stat_line(lines[i]))  # type: ignore[attr-defined]
                i += 1
        values = []
        for pattern in ZONE_BLOCK:
            mm = re.fullmatch(pattern, lines[i])
            assert mm, (pattern, lines[i])
            values.append(mm.group(1))
            i += 1
        info["watermarks"] = [int(v) for v in values[2:6]]
        info["managed"] = int(values[8])
        info["protection"] = [int(v) for v in values[10].split(", ")]
        while i < len(lines) and lines[i].startswith("      "):
            info["zone_stats"].append(stat_line(lines[i]))  # type: ignore[attr-defined]
            i += 1
        rest = lines[i:]
        if rest and rest[-1].startswith("  start_pfn:"):
            assert re.fullmatch(r"  start_pfn: {11}\d+", rest[-1])
            assert re.fullmatch(r"  node_unreclaimable: {2}\d+", rest[-2])
            info["start_pfn"] = int(rest[-1].split()[-1])
        zones[name] = info
    return zones


def stat_line(line: str) -> str:
    m = re.fullmatch(r" {6}([a-z0-9_]+) +(-?\d+)", line)
    assert m, repr(line)
    name, value = m.group(1), m.group(2)
    assert line == f"      {name:<12} {value}", repr(line)
    return name


def is_subsequence(ours: list[str], real: list[str]) -> bool:
    it = iter(real)
    return all(n in it for n in ours)


def test_zoneinfo_format_real_and_simulated(kernel_sample: Sample, sim: Simulation) -> None:
    real = parse_zoneinfo(kernel_sample("zoneinfo"))
    assert list(real)[:3] == ["DMA", "DMA32", "Normal"]
    ours = parse_zoneinfo(zoneinfo(sim.node))
    assert list(ours) == ["DMA", "DMA32", "Normal"]
    assert ours["DMA"]["node_stats"] and not ours["Normal"]["node_stats"]
    assert is_subsequence(ours["DMA"]["node_stats"], real["DMA"]["node_stats"])  # type: ignore[arg-type]
    for name, z in zip(ours, sim.node.zones, strict=True):
        info = ours[name]
        assert is_subsequence(info["zone_stats"], real[name]["zone_stats"])  # type: ignore[arg-type]
        assert info["watermarks"] == z.watermark
        assert info["managed"] == z.managed
        assert info["start_pfn"] == z.start_pfn
        # as many protection entries as the real x86-64 kernel's MAX_NR_ZONES
        assert len(info["protection"]) == len(real[name]["protection"])  # type: ignore[arg-type]
        assert info["protection"] == z.lowmem_reserve


@pytest.mark.parametrize("name", PROC_FILES)
def test_every_file_renders_and_ends_with_a_newline(sim: Simulation, name: str) -> None:
    text = render(sim.node, name)
    assert text.endswith("\n") and "\n\n\n" not in text


def test_x86_32_node_counters_and_protection() -> None:
    # non-PAE 32-bit layout: DMA, Normal (lowmem), HighMem; no DMA32 zone and its counters
    s = Simulation(validate_scenario({
        "node": {"arch": "x86_32", "zones": [
            {"name": "DMA", "pages": 4096},
            {"name": "Normal", "pages": 8192},
            {"name": "HighMem", "pages": 16384},
        ]},
        "workload": {"events_per_tick": 100},
    }))
    s.run_until(3)
    names = [name for name, _ in parse_vmstat(vmstat(s.node))]
    assert "pgalloc_high" in names and "pgalloc_dma32" not in names and "allocstall_dma32" not in names
    zones = parse_zoneinfo(zoneinfo(s.node))
    assert [len(z["protection"]) for z in zones.values()] == [4, 4, 4]  # type: ignore[arg-type]
    # HighMem's min is clamp(managed / 1024, 32, 128); lowmem zones share min_free_kbytes
    assert zones["HighMem"]["watermarks"][0] == 32  # type: ignore[index]


@pytest.mark.parametrize(("preset", "ticks"), [("compaction-selftest", 14), ("embedded-options", 500)])
def test_vmstat_and_zoneinfo_count_the_lru_pages_alike(preset: str, ticks: int) -> None:
    # include/linux/mm_inline.h folio_is_file_lru(): THPs are on the anon LRU with all their pages,
    # MADV_FREE pages on the file LRU (mm/swap.c lru_lazyfree()); one source for both files
    from app.presets import load_scenario
    from simcore.constants import PageKind
    from simcore.simulation import Simulation

    sim = Simulation(load_scenario(preset))
    sim.run_until(ticks)
    k = sim.node.nr_kind_pages
    assert k[PageKind.HUGE] or k[PageKind.LAZYFREE]  # the case this is about
    zoneinfo = sim.proc("zoneinfo")
    vm = sim.vmstat()
    for name in ("nr_zone_inactive_anon", "nr_zone_inactive_file"):
        per_zone = sum(int(line.split()[1]) for line in zoneinfo.splitlines() if line.split()[:1] == [name])
        assert per_zone == vm[name], name
    assert vm["nr_zone_inactive_anon"] == k[PageKind.ANON] + k[PageKind.HUGE]
    assert vm["nr_zone_inactive_file"] == k[PageKind.PAGECACHE] + k[PageKind.LAZYFREE]
    assert vm["nr_anon_pages"] == k[PageKind.ANON] + k[PageKind.HUGE] + k[PageKind.LAZYFREE]


def test_2_6_35_mode_prints_only_the_state_items_that_kernel_had_in_its_order() -> None:
    # include/linux/mmzone.h enum zone_stat_item of 2.6.35 / mm/vmstat.c vmstat_text: no nr_zone_*
    # (4.8+), no nr_anon_transparent_hugepages (2.6.38+); modern mode keeps them
    from app.presets import load_scenario
    from simcore.simulation import Simulation
    from simcore.vmstat import STATE_ITEMS_2_6_35

    old = Simulation(load_scenario("default", ["mode='2.6.35'"]))
    old.run_until(5)
    keys = list(old.vmstat())
    assert keys[: len(STATE_ITEMS_2_6_35)] == list(STATE_ITEMS_2_6_35)
    assert not any(k.startswith("nr_zone_") for k in keys)
    assert "nr_anon_transparent_hugepages" not in keys and "compact_pages_moved" in keys
    new = Simulation(load_scenario("default"))
    new.run_until(5)
    assert "nr_zone_inactive_anon" in new.vmstat() and "nr_anon_transparent_hugepages" in new.vmstat()
