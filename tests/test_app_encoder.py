"""The v1 binary frame and the metrics JSON (app/encoder.py) against docs/protocol.md."""

from __future__ import annotations

import json
import struct
import zlib

import numpy as np
import pytest

from app.encoder import (
    HEADER,
    MAX_EVENTS,
    NO_CELL,
    UNIT_PAGE,
    UNIT_PAGEBLOCK,
    View,
    decode,
    encode_cells,
    events_part,
    frame_info,
    grid,
    hover_info,
    lens_cells,
    metrics_body,
    metrics_json,
)
from app.lenses import LENS_ID
from app.lenses import LENS_NAMES as LENSES
from app.wire_types import ZoneSpan
from simcore.actions import FillAction
from simcore.constants import PAGEBLOCK_NR_PAGES, PageKind
from simcore.frame import MOBILITY, Frame
from simcore.invariants import check
from simcore.scenario import validate_scenario
from simcore.simulation import Simulation

TINY = {"name": "tiny", "seed": 3, "node": {"zones": [{"name": "DMA32", "pages": 4096},
                                                      {"name": "Normal", "pages": 8192}]},
        "workload": {"events_per_tick": 200, "target_occupancy": 0.7}}


@pytest.fixture(scope="module")
def frame() -> Frame:
    sim = Simulation(validate_scenario(TINY))
    sim.apply(FillAction(fraction=0.3, order=0))
    sim.run_until(15)
    check(sim.node)
    return sim.frame()


def test_header_layout_is_the_protocols() -> None:
    cells = lens_cells_of_ones(10)
    msg = encode_cells(cells, seq=7, tick=99, lens="skip", t_send_ms=1234.5)
    assert msg[:2] == b"ZS" and msg[2] == 1 and msg[3] == 0  # 10 cells: not worth deflating
    seq, tick = struct.unpack_from("<II", msg, 4)
    (t_ms,) = struct.unpack_from("<d", msg, 12)
    assert (seq, tick, t_ms) == (7, 99, 1234.5)
    assert msg[20] == LENS_ID["skip"] == 4 and msg[21] == UNIT_PAGEBLOCK
    rows, cols, first, reserved = struct.unpack_from("<HHIH", msg, 22)
    assert (rows, cols, first, reserved) == (cells.rows, cells.cols, 1024, 0)
    assert len(msg) == 32 + rows * cols and HEADER.size == 32


def lens_cells_of_ones(n: int):  # type: ignore[no-untyped-def]
    from app.encoder import Cells

    rows, cols = grid(n)
    data = bytes([1] * n + [NO_CELL] * (rows * cols - n))
    return Cells(UNIT_PAGEBLOCK, 1024, rows, cols, data)


@pytest.mark.parametrize("n", [1, 2, 24, 512, 8192, 131072])
def test_grid_holds_every_cell_about_twice_as_wide(n: int) -> None:
    rows, cols = grid(n)
    assert rows * cols >= n and (rows - 1) * cols < n
    assert cols & (cols - 1) == 0 and cols * cols >= 2 * n
    assert rows < 65536 and cols < 65536


def test_pageblock_lenses_cover_the_node_in_pfn_order(frame: Frame) -> None:
    nb = frame.nr_pages // PAGEBLOCK_NR_PAGES
    for lens in LENSES:
        c = lens_cells(frame, lens, View.whole(frame.nr_pages), per_page_max_pages=512)
        assert c.unit == UNIT_PAGEBLOCK and c.first_pfn == 0
        data = np.frombuffer(c.data, dtype=np.uint8)
        assert data.size == c.rows * c.cols
        assert (data[nb:] == NO_CELL).all() and (data[:nb] != NO_CELL).all()
    mt = np.frombuffer(lens_cells(frame, "migratetype", View.whole(frame.nr_pages), 512).data, np.uint8)[:nb]
    assert (mt == frame.pb_mt).all()
    free = np.frombuffer(lens_cells(frame, "free", View.whole(frame.nr_pages), 512).data, np.uint8)[:nb]
    assert (free == frame.pb_free.astype(int) * 200 // PAGEBLOCK_NR_PAGES).all()
    whole = View.whole(frame.nr_pages)
    lo = np.frombuffer(lens_cells(frame, "largest_order", whole, 512).data, np.uint8)[:nb]
    assert (lo.astype(int) - 1 == frame.pb_largest_order).all()


def test_mix_lens_marks_dominant_mobility_and_mixed_blocks(frame: Frame) -> None:
    nb = frame.nr_pages // PAGEBLOCK_NR_PAGES
    mix = np.frombuffer(lens_cells(frame, "mix", View.whole(frame.nr_pages), 512).data, np.uint8)[:nb]
    for b in range(nb):
        counts = [int(frame.pb_free[b]), int(frame.pb_movable[b]), int(frame.pb_reclaimable[b]),
                  int(frame.pb_unmovable[b])]
        counts.append(PAGEBLOCK_NR_PAGES - sum(counts))
        mixed = sum(1 for c in counts[1:4] if c) >= 2
        assert mix[b] == counts.index(max(counts)) + (10 if mixed else 0)


def test_skip_lens_codes() -> None:
    sim = Simulation(validate_scenario(TINY))
    f = sim.frame()
    pb_skip = np.zeros_like(f.pb_skip)
    reason = np.zeros_like(f.pb_skip_reason)
    pb_skip[1] = 1
    pb_skip[2] = 1
    reason[2] = 3
    reason[4] = 5
    import dataclasses

    f2 = dataclasses.replace(f, pb_skip=pb_skip, pb_skip_reason=reason)
    cells = np.frombuffer(lens_cells(f2, "skip", View.whole(f.nr_pages), 512).data, np.uint8)
    assert list(cells[:6]) == [0, 1, 4, 0, 6, 0]


def test_page_kind_per_block_is_the_most_common_kind(frame: Frame) -> None:
    nb = frame.nr_pages // PAGEBLOCK_NR_PAGES
    pk = np.frombuffer(lens_cells(frame, "page_kind", View.whole(frame.nr_pages), 512).data, np.uint8)[:nb]
    for b in range(nb):
        kinds = frame.page_kind[b * PAGEBLOCK_NR_PAGES : (b + 1) * PAGEBLOCK_NR_PAGES]
        assert pk[b] == np.bincount(kinds, minlength=16).argmax()


def test_per_page_view_of_a_small_range(frame: Frame) -> None:
    view = View(5000, 5000 + 3000)
    c = lens_cells(frame, "page_kind", view, per_page_max_pages=4096)
    assert c.unit == UNIT_PAGE and c.first_pfn == 5000
    data = np.frombuffer(c.data, np.uint8)
    assert (data[:3000] == frame.page_kind[5000:8000]).all() and (data[3000:] == NO_CELL).all()
    free = np.frombuffer(lens_cells(frame, "free", view, 4096).data, np.uint8)[:3000]
    assert ((free == 200) == (frame.page_kind[5000:8000] == PageKind.FREE)).all()
    mix = np.frombuffer(lens_cells(frame, "mix", view, 4096).data, np.uint8)[:3000]
    assert (mix == MOBILITY[frame.page_kind[5000:8000]]).all()
    mt = np.frombuffer(lens_cells(frame, "migratetype", view, 4096).data, np.uint8)[:3000]
    assert (mt == np.repeat(frame.pb_mt, PAGEBLOCK_NR_PAGES)[5000:8000]).all()
    # the same range, over the per-page cap, falls back to whole pageblocks around it
    c2 = lens_cells(frame, "migratetype", view, per_page_max_pages=1024)
    assert c2.unit == UNIT_PAGEBLOCK and c2.first_pfn == (5000 // 512) * 512


def test_view_is_clamped_to_the_node(frame: Frame) -> None:
    c = lens_cells(frame, "free", View(frame.nr_pages - 10, frame.nr_pages + 5000), 4096)
    assert c.unit == UNIT_PAGE and c.first_pfn == frame.nr_pages - 10
    assert np.count_nonzero(np.frombuffer(c.data, np.uint8) != NO_CELL) == 10


def test_deflate_when_it_pays_and_decode_roundtrip(frame: Frame) -> None:
    c = lens_cells(frame, "page_kind", View.whole(frame.nr_pages), per_page_max_pages=1 << 20)
    msg = encode_cells(c, 1, frame.tick, "page_kind", 0.0)
    assert msg[3] & 1  # per-page kinds compress well
    header, body = decode(msg)
    assert body == c.data and header.rows == c.rows and header.cols == c.cols and header.tick == frame.tick
    assert zlib.decompress(msg[32:]) == c.data  # RFC 1950 stream: DecompressionStream('deflate') reads it
    assert len(msg) < len(c.data) // 2


def test_metrics_json_has_the_protocol_fields(frame: Frame) -> None:
    cells = lens_cells(frame, "free", View.whole(frame.nr_pages), 512)
    text = metrics_json(metrics_body(frame), 5, frame_info("ab", cells, "free", None), events_part([]))
    m = json.loads(text)
    assert m["type"] == "metrics" and m["seq"] == 5 and m["tick"] == frame.tick
    assert (m["lens"], m["rows"], m["first_pfn"], m["events"]) == ("free", cells.rows, 0, [])
    assert "skipped" not in m
    assert [z["name"] for z in m["zones"]] == ["DMA32", "Normal"]
    z = m["zones"][1]
    for key in ("free_pages", "managed", "watermark_min", "watermark_low", "watermark_high",
                "watermark_boost", "fragindex_9"):
        assert isinstance(z[key], int)
    assert len(z["free_area"]) == 11 and all(len(row) == 5 for row in z["free_area"])
    assert len(z["block_types"]) == 5 and sum(z["block_types"]) == 8192 // 512
    assert m["vmstat"]["nr_free_pages"] == sum(zz["free_pages"] for zz in m["zones"])
    assert m["events"] == [] and isinstance(m["scanners"], list)


def test_events_are_capped_with_a_count_of_the_dropped() -> None:
    evs = [{"tick": i, "name": "x", "text": ""} for i in range(MAX_EVENTS + 17)]
    part = events_part(evs)
    assert part["events_dropped"] == 17 and len(part["events"]) == MAX_EVENTS
    assert part["events"][-1]["tick"] == MAX_EVENTS + 16
    assert "events_dropped" not in events_part(evs[:3])


def test_hover_describes_the_block(frame: Frame) -> None:
    spans: list[ZoneSpan] = [{"name": "DMA32", "start_pfn": 0, "end_pfn": 4096},
                             {"name": "Normal", "start_pfn": 4096, "end_pfn": 12288}]
    h = hover_info(frame, 4100, spans)
    b = 4100 // 512
    assert (h["start_pfn"], h["end_pfn"], h["zone"]) == (4096, 4608, "Normal")
    assert h["free"] + h["movable"] + h["reclaimable"] + h["unmovable"] <= 512
    assert h["free"] == int(frame.pb_free[b])
    with pytest.raises(ValueError, match="pfn"):
        hover_info(frame, frame.nr_pages, spans)


def test_skipped_blocks_in_the_view() -> None:
    import dataclasses

    from app.encoder import MAX_SKIPPED, skipped_blocks

    sim = Simulation(validate_scenario(TINY))
    f = sim.frame()
    skip = np.zeros_like(f.pb_skip)
    reason = np.zeros_like(f.pb_skip_reason)
    skip[3] = 1
    reason[5] = 2
    f2 = dataclasses.replace(f, pb_skip=skip, pb_skip_reason=reason)
    assert skipped_blocks(f2, View.whole(f.nr_pages)) == [[3 * 512, 0], [5 * 512, 2]]
    assert skipped_blocks(f2, View(5 * 512 + 7, 6 * 512)) == [[5 * 512, 2]]
    assert skipped_blocks(f2, View(0, 3 * 512)) == []
    everything = dataclasses.replace(f, pb_skip=np.ones_like(f.pb_skip))
    assert len(skipped_blocks(everything, View.whole(f.nr_pages))) == min(MAX_SKIPPED, f.pb_skip.size)


def test_page_kind_of_large_views_samples_every_8th_page(frame: Frame,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import app.lenses as enc

    nb = frame.nr_pages // PAGEBLOCK_NR_PAGES
    exact = np.frombuffer(lens_cells(frame, "page_kind", View.whole(frame.nr_pages), 512).data, np.uint8)[:nb]
    monkeypatch.setattr(enc, "EXACT_KIND_PAGES", 1024)
    whole = View.whole(frame.nr_pages)
    sampled = np.frombuffer(lens_cells(frame, "page_kind", whole, 512).data, np.uint8)[:nb]
    for b in range(nb):
        kinds = frame.page_kind[b * PAGEBLOCK_NR_PAGES : (b + 1) * PAGEBLOCK_NR_PAGES : 8]
        assert sampled[b] == np.bincount(kinds, minlength=16).argmax()
    uniform = [b for b in range(nb) if len(set(frame.page_kind[b * 512 : (b + 1) * 512].tolist())) == 1]
    assert all(sampled[b] == exact[b] for b in uniform)
