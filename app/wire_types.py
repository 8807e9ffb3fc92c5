"""The JSON messages the server sends to the browser, as TypedDicts (docs/protocol.md).

Every server -> browser message is built as one of these, so mypy checks each field's name and type
where the message is made; `ServerMessage` is what a viewer's queue takes (app/viewer.py).
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict


# ------------------------------------------------------------------ vocabularies
class LensClassInfo(TypedDict):
    key: str  # palette.js colours the class by this
    label: str
    lo: int  # cell values lo..hi, inclusive
    hi: int


class LensInfo(TypedDict):
    name: str
    label: str
    key: str  # the keyboard key that selects the lens ("" for none)
    classes: list[LensClassInfo]


class Named(TypedDict):
    name: str
    label: str


class SkipReasonInfo(TypedDict):
    code: int
    name: str
    label: str


class Vocab(TypedDict):
    lenses: list[LensInfo]
    skip_reasons: list[SkipReasonInfo]
    migratetypes: list[str]
    page_kinds: list[str]
    proc_files: list[Named]
    defrag_policies: list[Named]
    alloc_classes: list[Named]
    alloc_class_default: str
    zones: list[str]
    chart_counters: list[str]  # the vm_events counters of the compaction chart (app/chart_history.py)


# --------------------------------------------------------------------- messages
class ZoneSpan(TypedDict):
    name: str
    start_pfn: int
    end_pfn: int


class PresetRef(TypedDict):
    name: str
    title: str


class Limits(TypedDict):
    max_message_bytes: int
    rate_per_s: float
    credit_window: int
    per_page_max_pages: int


class RoomInfo(TypedDict):
    """A presenter's room (app/rooms.py): the id the follow link names, and the key only the
    presenter's browser holds."""

    id: str
    key: str


class OpeningView(TypedDict):
    """The scenario's `view`: the lens the page opens on ('': its first) and its compaction pace
    (None: the page's default)."""

    lens: str
    pace: int | None


class HelloMsg(TypedDict):
    type: Literal["hello"]
    session: str
    protocol: int
    scenario: dict[str, Any]
    preset: str | None
    presets: list[PresetRef]
    nr_pages: int
    zones: list[ZoneSpan]
    lenses: list[str]
    share_path: str
    playing: bool
    tps: float
    ticks_per_frame: int
    tick: int
    role: str
    frame_hash: str
    defrag: str  # the defrag policy the run uses now (a live `set defrag` included)
    room: NotRequired[RoomInfo]  # to the presenter only
    view: OpeningView
    skip_reasons: list[str]
    migratetypes: list[str]
    page_kinds: list[str]
    max_fps: float
    limits: Limits
    vocab: Vocab


class StatusMsg(TypedDict):
    type: Literal["status"]
    playing: bool
    tps: float
    ticks_per_frame: int
    tick: int
    share_path: str
    frame_hash: str
    defrag: str  # the defrag policy the run uses now: after a reset, a seek or a live `set`


class ProgressMsg(TypedDict):
    type: Literal["progress"]
    done: int
    total: int
    cancelled: NotRequired[bool]  # the last one of a fast-forward stopped early (status follows)


class ProcMsg(TypedDict):
    type: Literal["proc"]
    file: str
    text: str


class MovedMsg(TypedDict):
    """To the followers of a room's old run: the presenter started another (a preset change); their
    page reconnects to the room."""

    type: Literal["moved"]
    room: str
    session: str
    preset: str | None


class LinkMsg(TypedDict):
    """The answer to a `link` request: the share link of the tick on screen, and why this server
    would refuse to open it ("" if it would not)."""

    type: Literal["link"]
    path: str
    tick: int
    refused: str


class ErrorMsg(TypedDict):
    type: Literal["error"]
    message: str


class HoverMsg(TypedDict):
    type: Literal["hover"]
    pfn: int
    start_pfn: int
    end_pfn: int
    zone: str
    migratetype: str
    free: int
    movable: int
    reclaimable: int
    unmovable: int
    largest_order: int
    skip: bool
    skip_reason: str
    page_kind: str


class HistoryZone(TypedDict):
    name: str
    managed: int
    free_pages: list[int]
    watermark_min: list[int]
    watermark_low: list[int]
    watermark_high: list[int]
    fragindex_9: list[int]


class HistoryMsg(TypedDict):
    type: Literal["history"]
    tick: list[int]
    zones: list[HistoryZone]
    vmstat: dict[str, list[int]]


class EventInfo(TypedDict):
    tick: int
    name: str
    text: str


class ZoneMetrics(TypedDict):
    name: str
    start_pfn: int
    end_pfn: int
    free_pages: int
    managed: int
    watermark_min: int
    watermark_low: int
    watermark_high: int
    watermark_boost: int
    free_area: list[list[int]]
    block_types: list[int]
    fragindex_9: int


class ScannerMetrics(TypedDict):
    zone: str
    migrate_pfn: int
    free_pfn: int
    sync: str
    order: int
    active: bool
    trail_migrate: list[int]
    trail_free: list[int]


class MetricsBody(TypedDict):
    """The part of `metrics` common to every viewer of a frame."""

    tick: int
    zones: list[ZoneMetrics]
    vmstat: dict[str, int]
    scanners: list[ScannerMetrics]
    pressure: NotRequired[dict[str, Any]]  # app/pressure_view.py, when the scenario has pressure


class FrameInfo(TypedDict):
    """The part of `metrics` that depends on the viewer's lens and view (the binary header's fields)."""

    frame_hash: str
    unit: int
    lens: str
    first_pfn: int
    rows: int
    cols: int
    skipped: NotRequired[list[list[int]]]  # not in the skip lens


class EventsPart(TypedDict):
    events: list[EventInfo]
    events_dropped: NotRequired[int]


class MetricsMsg(MetricsBody, FrameInfo, EventsPart):
    type: Literal["metrics"]
    seq: int


ServerMessage = (HelloMsg | StatusMsg | ProgressMsg | ProcMsg | LinkMsg | MovedMsg | ErrorMsg | HoverMsg
                 | HistoryMsg | MetricsMsg)


def error_msg(message: str) -> ErrorMsg:
    return {"type": "error", "message": message}
