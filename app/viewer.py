"""What one viewer receives: the published frame record and the per-viewer slot, credits and sender.

See the theory of operation in app/live_session.py. A `Published` frame is encoded lazily, once per (lens,
view) in use, and framed for the wire once (app/wire.py); a `Viewer` gets it written at once when it
holds a credit and its transport accepts data, and otherwise keeps the latest one in its slot for its
sender task.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fastapi import WebSocket

from app.encoder import View, encode_cells, frame_info, lens_cells, skipped_blocks
from app.lenses import LENS_NAMES
from app.wire import OP_BINARY, OP_TEXT, DirectWriter, ws_frame
from app.wire_types import EventInfo, FrameInfo, MetricsBody, RoomInfo, ServerMessage
from simcore import Frame

if TYPE_CHECKING:
    from app.live_session import LiveSession

MAX_CONTROL_QUEUE = 512


def dumps(obj: Mapping[str, object]) -> str:
    return json.dumps(obj, separators=(",", ":"))


@dataclass(eq=False)
class Published:
    """A frame as published by the producer; encodings are added on demand, once per (lens, view)."""

    seq: int
    frame: Frame
    t_ms: float
    frame_hash: str
    share_path: str
    event_start: int  # session event-log index of this frame's first new event
    event_end: int
    body: MetricsBody
    per_page_max: int
    new_events: list[EventInfo]
    events_lost: int  # events of this publication never converted (a burst over the event log's size)
    encoded: dict[tuple[str, View], tuple[bytes, FrameInfo]] = field(default_factory=dict)
    metrics_text: dict[tuple[str, View], str] = field(default_factory=dict)
    framed: dict[tuple[str, View], bytes] = field(default_factory=dict)

    def encode(self, lens: str, view: View) -> tuple[bytes, FrameInfo]:
        key = (lens, view)
        hit = self.encoded.get(key)
        if hit is None:
            cells = lens_cells(self.frame, lens, view, self.per_page_max)
            data = encode_cells(cells, self.seq, self.frame.tick, lens, self.t_ms)
            skipped = skipped_blocks(self.frame, view) if lens != "skip" else None
            hit = (data, frame_info(self.frame_hash, cells, lens, skipped))
            self.encoded[key] = hit
        return hit

    def wire(self, key: tuple[str, View], text: str) -> bytes:
        """Binary + metrics as framed WebSocket messages, for direct transport writes (app/wire.py)."""
        framed = self.framed.get(key)
        if framed is None:
            framed = ws_frame(OP_BINARY, self.encode(*key)[0]) + ws_frame(OP_TEXT, text.encode())
            self.framed[key] = framed
        return framed


class Viewer:
    def __init__(self, ws: WebSocket, session: LiveSession, role: str, credit_window: int) -> None:
        self.ws = ws
        self.session = session
        self.role = role
        #: the room a presenter drives, sent in its hello only (app/rooms.py)
        self.room: RoomInfo | None = None
        self.lens = LENS_NAMES[0]
        self.view = View.whole(session.nr_pages)
        self.credit_window = credit_window
        self.credits = credit_window
        self.slot: Published | None = None
        self.control: deque[str] = deque()
        self.wake = asyncio.Event()
        self.last_seq = -1
        self.event_cursor = session.event_log.end
        self.sent = 0
        self.drops = 0
        self.closed = False
        self.send_since: float | None = None  # loop time at which the send in progress began
        self.direct: DirectWriter | None = None  # the fast path of app/wire.py, when it applies
        self.sender: asyncio.Task[None] | None = None

    def offer(self, pub: Published) -> None:
        """A new frame: written at once when the fast path allows, else into the slot (latest wins)."""
        if self.slot is not None and self.slot is not pub:
            self.drops += 1
        if self._can_write_now():
            self.slot = None
            self._write_now(pub)
        else:
            self.slot = pub
            self.wake.set()

    def _can_write_now(self) -> bool:
        """A frame may go out from the caller's step (no task switch) when nothing else is in the way:
        a credit, no queued JSON, no send in progress, and the direct transport open and not paused."""
        d = self.direct
        return (d is not None and self.credits > 0 and not self.control and self.send_since is None
                and not self.closed and d.ready())

    def _write_now(self, pub: Published) -> None:
        assert self.direct is not None
        data, text, shared = self.session.frame_messages(pub, self)
        wire = pub.wire((self.lens, self.view), text) if shared else (
            ws_frame(OP_BINARY, data) + ws_frame(OP_TEXT, text.encode()))
        self.credits -= 1
        self.last_seq = pub.seq
        try:
            self.direct.write_now(wire)
        except Exception:  # a broken transport: let the sender end the connection
            self.closed = True
            self.wake.set()
            return
        self.sent += 1

    def push(self, msg: ServerMessage | str) -> None:
        if len(self.control) >= MAX_CONTROL_QUEUE:
            self.closed = True  # the sender notices and ends the connection
        else:
            self.control.append(msg if isinstance(msg, str) else dumps(msg))
        self.wake.set()

    def ack(self, seq: int) -> bool:
        """Return a credit for a frame sent; False for an ack of nothing in flight."""
        if seq > self.last_seq or self.credits >= self.credit_window:
            return False
        self.credits += 1
        pub = self.slot
        if pub is not None and self._can_write_now():
            self.slot = None
            self._write_now(pub)
        else:
            self.wake.set()
        return True

    def _ready(self) -> bool:
        return bool(self.control) or (self.slot is not None and self.credits > 0) or self.closed

    async def run_sender(self) -> None:
        """Send queued JSON, then the latest frame when a credit allows; ends on error or eviction.

        Sends are bounded by the hub's watchdog (`send_since`), which cancels a sender stuck longer than
        `send_timeout_s`: cheaper than a timeout context per send, and no `wait_for` (on 3.11 it can
        lose a cancellation).
        """
        ws = self.ws
        loop = asyncio.get_running_loop()
        while True:
            while not self._ready():
                self.wake.clear()
                await self.wake.wait()
            if self.closed:
                return
            while self.control and not self.closed:
                self.send_since = loop.time()
                await ws.send_text(self.control.popleft())
                self.send_since = None
            pub = self.slot
            if pub is not None and self.credits > 0:
                self.slot = None
                data, text, shared = self.session.frame_messages(pub, self)
                self.credits -= 1
                self.last_seq = pub.seq
                self.send_since = loop.time()
                direct = self.direct
                if direct is not None and direct.usable():
                    key = (self.lens, self.view)
                    wire = pub.wire(key, text) if shared else ws_frame(OP_BINARY, data) + ws_frame(
                        OP_TEXT, text.encode())
                    await direct.write(wire)
                else:
                    await ws.send_bytes(data)
                    await ws.send_text(text)
                self.send_since = None
                self.sent += 1


