"""Frame -> wire messages, once per frame: the v1 binary map message and the JSON `metrics` message.

The binary message is a 32-byte little-endian header (docs/protocol.md) followed by rows x cols uint8
cells of one lens over one view of the node: one cell per pageblock, or one cell per page when the
view spans at most `per_page_max_pages` pages. The body is zlib-deflated (RFC 1950, level 1) when that
saves at least a tenth of it. Nothing here touches a socket or the simulation: a frame is immutable,
so the producer thread and the event loop may both encode from it.
"""

from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from app.lenses import LENS_ID, Lens, lens_named
from app.pressure_view import pressure_event_text
from app.wire_types import EventInfo, EventsPart, FrameInfo, HoverMsg, MetricsBody, MetricsMsg, ZoneSpan
from simcore import (
    MIGRATETYPE_NAMES,
    NR_PAGE_KINDS,
    PAGEBLOCK_NR_PAGES,
    PAGEBLOCK_ORDER,
    SKIP_REASONS,
    Event,
    Frame,
    PageKind,
    format_body,
)

MAGIC: Final = b"ZS"
VERSION: Final = 1
FLAG_DEFLATE: Final = 1
HEADER = struct.Struct("<2sBBIIdBBHHIH")
assert HEADER.size == 32
NO_CELL: Final = 255
UNIT_PAGEBLOCK: Final = 0
UNIT_PAGE: Final = 1
#: cells below this are sent as they are (deflate costs more than it saves)
MIN_DEFLATE_CELLS: Final = 256
MAX_EVENTS: Final = 200


@dataclass(frozen=True, slots=True)
class View:
    """A pfn range of the node, [start_pfn, end_pfn)."""

    start_pfn: int
    end_pfn: int

    @staticmethod
    def whole(nr_pages: int) -> View:
        return View(0, nr_pages)

    def clamp(self, nr_pages: int) -> View:
        start = max(0, min(self.start_pfn, nr_pages - 1))
        end = max(start + 1, min(self.end_pfn, nr_pages))
        return View(start, end)


@dataclass(frozen=True, slots=True)
class Cells:
    unit: int
    first_pfn: int
    rows: int
    cols: int
    data: bytes  # rows * cols uint8


def grid(n: int) -> tuple[int, int]:
    """Rows and cols for n cells: cols the smallest power of two with cols^2 >= 2n (about 2:1 wide)."""
    cols = 1
    while cols * cols < 2 * n:
        cols <<= 1
    return -(-n // cols), cols


def _page_values(frame: Frame, lens: Lens, p0: int, p1: int) -> np.ndarray:
    if lens.page is not None:
        return lens.page(frame, p0, p1)
    b0, b1 = p0 >> PAGEBLOCK_ORDER, ((p1 - 1) >> PAGEBLOCK_ORDER) + 1
    per_block = lens.pageblock(frame, b0, b1)
    offset = p0 - (b0 << PAGEBLOCK_ORDER)
    return np.repeat(per_block, PAGEBLOCK_NR_PAGES)[offset : offset + (p1 - p0)]


def lens_cells(frame: Frame, lens: str, view: View, per_page_max_pages: int) -> Cells:
    """The cells of `lens` over `view`: per page when the view is small enough, else per pageblock."""
    v = view.clamp(frame.nr_pages)
    entry = lens_named(lens)
    if v.end_pfn - v.start_pfn <= per_page_max_pages:
        values = _page_values(frame, entry, v.start_pfn, v.end_pfn)
        unit, first = UNIT_PAGE, v.start_pfn
    else:
        b0 = v.start_pfn >> PAGEBLOCK_ORDER
        b1 = -(-v.end_pfn // PAGEBLOCK_NR_PAGES)
        values = entry.pageblock(frame, b0, b1)
        unit, first = UNIT_PAGEBLOCK, b0 << PAGEBLOCK_ORDER
    rows, cols = grid(values.size)
    out = np.full(rows * cols, NO_CELL, dtype=np.uint8)
    out[: values.size] = values
    return Cells(unit, first, rows, cols, out.tobytes())


def encode_cells(cells: Cells, seq: int, tick: int, lens: str, t_send_ms: float) -> bytes:
    body = cells.data
    flags = 0
    if len(body) >= MIN_DEFLATE_CELLS:
        packed = zlib.compress(body, 1)
        if len(packed) * 10 <= len(body) * 9:
            body, flags = packed, FLAG_DEFLATE
    header = HEADER.pack(MAGIC, VERSION, flags, seq & 0xFFFFFFFF, tick & 0xFFFFFFFF, t_send_ms,
                         LENS_ID[lens], cells.unit, cells.rows, cells.cols, cells.first_pfn, 0)
    return header + body


@dataclass(frozen=True, slots=True)
class Header:
    flags: int
    seq: int
    tick: int
    t_send_ms: float
    lens: int
    unit: int
    rows: int
    cols: int
    first_pfn: int


def decode(message: bytes) -> tuple[Header, bytes]:
    """The header and the (inflated) cells of a binary message: the page's decoder, for tests and bench."""
    magic, version, flags, seq, tick, t_ms, lens, unit, rows, cols, first, _ = HEADER.unpack_from(message)
    if magic != MAGIC or version != VERSION:
        raise ValueError("not a zonescope v1 frame")
    body = message[HEADER.size :]
    if flags & FLAG_DEFLATE:
        body = zlib.decompress(body)
    return Header(flags, seq, tick, t_ms, lens, unit, rows, cols, first), body


# ------------------------------------------------------------------ JSON side
MAX_SKIPPED: Final = 512


def skipped_blocks(frame: Frame, view: View) -> list[list[int]]:
    """[[start pfn, skip reason index], ...] of the pageblocks in `view` that compaction passed by
    (skip bit set or a reason recorded), at most MAX_SKIPPED, lowest pfn first."""
    v = view.clamp(frame.nr_pages)
    b0, b1 = v.start_pfn >> PAGEBLOCK_ORDER, -(-v.end_pfn // PAGEBLOCK_NR_PAGES)
    marked = (frame.pb_skip[b0:b1] != 0) | (frame.pb_skip_reason[b0:b1] != 0)
    blocks = np.flatnonzero(marked)[:MAX_SKIPPED]
    reasons = frame.pb_skip_reason[b0:b1]
    return [[int(b0 + b) << PAGEBLOCK_ORDER, int(reasons[b])] for b in blocks]


def event_text(ev: Event) -> str:
    """The tracepoint's TP_printk text, as ftrace prints it (simcore.trace); the kernel's own log line
    for the OOM kill and the other pressure events app.pressure_view formats."""
    return pressure_event_text(ev) or format_body(ev)


def event_json(ev: Event) -> EventInfo:
    return {"tick": ev.tick, "name": ev.name, "text": event_text(ev)}


def metrics_body(frame: Frame) -> MetricsBody:
    """The per-frame part of `metrics` common to every viewer (no seq, events, or view fields)."""
    return {
        "tick": frame.tick,
        "zones": [
            {
                "name": z.name, "start_pfn": z.start_pfn, "end_pfn": z.end_pfn,
                "free_pages": z.free_pages, "managed": z.managed,
                "watermark_min": z.watermark_min, "watermark_low": z.watermark_low,
                "watermark_high": z.watermark_high, "watermark_boost": z.watermark_boost,
                "free_area": [list(row) for row in z.free_area], "block_types": list(z.block_types),
                "fragindex_9": z.fragindex_9,
            }
            for z in frame.zones
        ],
        "vmstat": frame.vmstat,
        "scanners": [
            {"zone": s.zone, "migrate_pfn": s.migrate_pfn, "free_pfn": s.free_pfn, "sync": s.sync,
             "order": s.order, "active": s.active, "trail_migrate": list(s.trail_migrate),
             "trail_free": list(s.trail_free)}
            for s in frame.scanners
        ],
    }


def with_pressure(body: MetricsBody, part: dict[str, Any]) -> MetricsBody:
    """The body with app/pressure_view.py's `pressure_part` (empty when the scenario has no pressure)."""
    if "pressure" in part:
        body["pressure"] = part["pressure"]
    return body


def events_part(events: list[EventInfo], lost: int = 0) -> EventsPart:
    """`events` (the newest MAX_EVENTS) and `events_dropped` when more were pending (plus `lost`)."""
    dropped = max(0, len(events) - MAX_EVENTS) + lost
    if dropped:
        return {"events": events[-MAX_EVENTS:], "events_dropped": dropped}
    return {"events": events}


def metrics_json(body: MetricsBody, seq: int, frame: FrameInfo, events: EventsPart) -> str:
    msg: MetricsMsg = {"type": "metrics", "seq": seq, **body, **frame, **events}
    return json.dumps(msg, separators=(",", ":"))


def frame_info(frame_hash: str, cells: Cells, lens: str, skipped: list[list[int]] | None) -> FrameInfo:
    info: FrameInfo = {"frame_hash": frame_hash, "unit": cells.unit, "lens": lens,
                       "first_pfn": cells.first_pfn, "rows": cells.rows, "cols": cells.cols}
    if skipped is not None:
        info["skipped"] = skipped
    return info


def hover_info(frame: Frame, pfn: int, zone_spans: list[ZoneSpan]) -> HoverMsg:
    """What the map shows about the pageblock that holds `pfn` (the `hover` answer)."""
    if not 0 <= pfn < frame.nr_pages:
        raise ValueError(f"pfn: must be in 0..{frame.nr_pages - 1}, got {pfn}")
    b = pfn >> PAGEBLOCK_ORDER
    zone = next((z["name"] for z in zone_spans if z["start_pfn"] <= pfn < z["end_pfn"]), "")
    reason = int(frame.pb_skip_reason[b])
    kind = int(frame.page_kind[pfn])
    return {
        "type": "hover", "pfn": pfn, "start_pfn": b << PAGEBLOCK_ORDER,
        "end_pfn": (b + 1) << PAGEBLOCK_ORDER, "zone": zone,
        "migratetype": MIGRATETYPE_NAMES[int(frame.pb_mt[b])],
        "free": int(frame.pb_free[b]), "movable": int(frame.pb_movable[b]),
        "reclaimable": int(frame.pb_reclaimable[b]), "unmovable": int(frame.pb_unmovable[b]),
        "largest_order": int(frame.pb_largest_order[b]), "skip": bool(frame.pb_skip[b]),
        "skip_reason": SKIP_REASONS[reason] if reason < len(SKIP_REASONS) else str(reason),
        "page_kind": PageKind(kind).name.lower() if kind < NR_PAGE_KINDS else str(kind),
    }
