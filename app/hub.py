"""Sessions and viewers: one producer task per simulation, one slot + credit window per viewer.

Theory of operation
-------------------
A `Session` owns one `SimRun`. Its producer task is the only code that touches the simulation: it
takes commands from a queue (controls from any viewer's reader task), paces ticks while playing, runs
the simulation work in a worker thread, and publishes each new frame by *offering* it to every viewer.
Offering never awaits: when the viewer holds a credit and its transport accepts data at once (the
fast path of app/wire.py), the frame is written there and then, a non-blocking buffered write;
otherwise it overwrites the viewer's one-frame slot (latest wins; an unsent frame that is overwritten
counts as a drop) and wakes the viewer's sender task. JSON messages other than metrics
(hello, status, progress, proc, errors) go to a small per-viewer queue that is never dropped from.

Each viewer has a sender task and a reader task (the websocket endpoint itself). The sender sends
queued JSON first, then the slot's frame (binary + metrics) when it holds a credit; it spends one
credit per frame, and the browser's `ack` after rendering returns it. A slow viewer therefore sees
fewer frames (sequence gaps) while fast viewers and the producer never wait for it. Every send is
bounded by `send_timeout_s`; a stalled or vanished viewer is evicted.

A published frame is encoded lazily, once per (lens, view) in use, and cached on the `Published`
record, so 300 viewers of one session cost one encoding. Events travel in metrics: each frame knows
the slice of the session's event log it adds; a viewer that skipped frames gets every event since its
last metrics (the newest 200).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import math
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import WebSocket

from app.encoder import (
    LENSES,
    View,
    encode_cells,
    event_json,
    events_part,
    lens_cells,
    metrics_body,
    metrics_json,
    skipped_blocks,
)
from app.messages import ClientMessage, DoAction, Pause, Play, Proc, Reset, Seek, Speed, Step
from app.session import SimRun
from app.settings import Settings
from app.wire import OP_BINARY, OP_TEXT, DirectWriter, ws_frame
from simcore.constants import MIGRATETYPE_NAMES, PageKind
from simcore.frame import SKIP_REASONS, Frame
from simcore.link import make_token
from simcore.scenario import Scenario, ScenarioError

log = logging.getLogger("zonescope.hub")
MAX_CONTROL_QUEUE = 512
EVENT_LOG_KEEP = 4000


def wall_ms() -> float:
    return time.time() * 1000.0


def dumps(obj: dict[str, Any]) -> str:
    return json.dumps(obj, separators=(",", ":"))


class ServerFull(Exception):
    """No room for another session or viewer (close 1013)."""


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
    body: dict[str, Any]
    per_page_max: int
    new_events: list[dict[str, Any]]
    encoded: dict[tuple[str, View], tuple[bytes, dict[str, Any]]] = field(default_factory=dict)
    metrics_text: dict[tuple[str, View], str] = field(default_factory=dict)
    framed: dict[tuple[str, View], bytes] = field(default_factory=dict)

    def encode(self, lens: str, view: View) -> tuple[bytes, dict[str, Any]]:
        key = (lens, view)
        hit = self.encoded.get(key)
        if hit is None:
            cells = lens_cells(self.frame, lens, view, self.per_page_max)
            data = encode_cells(cells, self.seq, self.frame.tick, lens, self.t_ms)
            extra: dict[str, Any] = {"frame_hash": self.frame_hash, "unit": cells.unit, "lens": lens,
                                     "first_pfn": cells.first_pfn, "rows": cells.rows, "cols": cells.cols}
            if lens != "skip":
                extra["skipped"] = skipped_blocks(self.frame, view)
            hit = (data, extra)
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
    def __init__(self, ws: WebSocket, session: Session, role: str, credit_window: int) -> None:
        self.ws = ws
        self.session = session
        self.role = role
        self.lens = "migratetype"
        self.view = View.whole(session.nr_pages)
        self.credit_window = credit_window
        self.credits = credit_window
        self.slot: Published | None = None
        self.control: deque[str] = deque()
        self.wake = asyncio.Event()
        self.last_seq = -1
        self.event_cursor = session.event_base + len(session.event_log)
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

    def push(self, msg: dict[str, Any] | str) -> None:
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


class Session:
    def __init__(self, sid: str, run: SimRun, start_tick: int, preset: str | None, settings: Settings,
                 on_idle: Callable[[Session], None]) -> None:
        self.id = sid
        self.run = run
        self.start_tick = start_tick
        self.preset = preset
        self.settings = settings
        self.on_idle = on_idle
        self.nr_pages = run.sim.node.nr_pages
        self.zone_spans = [(z.name, z.start_pfn, z.end_pfn) for z in run.sim.node.zones]
        self.viewers: list[Viewer] = []
        self.commands: asyncio.Queue[tuple[Viewer | None, ClientMessage]] = asyncio.Queue()
        self.playing = False
        self.tps = 30.0
        self.ticks_per_frame = 1
        self.seq = 0
        self.latest: Published | None = None
        self.event_log: list[dict[str, Any]] = []
        self.event_base = 0
        self.share_path = "/s/" + make_token(run.sim.recorded, start_tick)
        self.frame_hash = run.frame_hash
        self.tick = 0
        self.producer: asyncio.Task[None] | None = None
        self.linger: asyncio.TimerHandle | None = None
        self.idle_since = 0.0
        self.closed = False

    # ----------------------------------------------------------- viewers
    def hello(self, viewer: Viewer) -> dict[str, Any]:
        sim = self.run.sim
        return {
            "type": "hello", "session": self.id, "protocol": 1,
            "scenario": self.run.start_scenario.to_dict() if self.latest is None else sim.recorded.to_dict(),
            "preset": self.preset, "presets": [], "nr_pages": self.nr_pages,
            "zones": [{"name": n, "start_pfn": s, "end_pfn": e} for n, s, e in self.zone_spans],
            "lenses": list(LENSES), "share_path": self.share_path, "playing": self.playing,
            "tps": self.tps, "ticks_per_frame": self.ticks_per_frame,
            "tick": self.tick if self.latest is not None else self.start_tick,
            "role": viewer.role, "frame_hash": self.frame_hash, "skip_reasons": list(SKIP_REASONS),
            "migratetypes": list(MIGRATETYPE_NAMES), "page_kinds": [k.name.lower() for k in PageKind],
            "max_fps": self.settings.max_fps,
            "limits": {"max_message_bytes": self.settings.max_message_bytes,
                       "rate_per_s": self.settings.rate_per_s, "credit_window": self.settings.credit_window,
                       "per_page_max_pages": self.settings.per_page_max_pages},
        }

    def attach(self, viewer: Viewer, hello_extra: dict[str, Any]) -> None:
        if self.linger is not None:
            self.linger.cancel()
            self.linger = None
        self.viewers.append(viewer)
        viewer.push({**self.hello(viewer), **hello_extra})
        if self.latest is not None:
            viewer.event_cursor = self.latest.event_start
            viewer.offer(self.latest)

    def detach(self, viewer: Viewer) -> None:
        viewer.closed = True
        viewer.wake.set()
        if viewer in self.viewers:
            self.viewers.remove(viewer)
        if not self.viewers and not self.closed:
            self.on_idle(self)

    def reoffer(self, viewer: Viewer) -> None:
        """After a lens / view change: send the latest frame again in the new form."""
        if self.latest is not None:
            viewer.offer(self.latest)

    def frame_messages(self, pub: Published, viewer: Viewer) -> tuple[bytes, str, bool]:
        """The binary frame and metrics text for a viewer, and whether they are the shared ones (they
        are unless the viewer skipped frames and so gets the events it missed)."""
        key = (viewer.lens, viewer.view)
        data, extra = pub.encode(*key)
        since = viewer.event_cursor
        viewer.event_cursor = max(since, pub.event_end)
        if since < pub.event_start:  # it skipped frames: every event since its last metrics
            evs = self.events_between(since, pub.event_end)
            return data, metrics_json(pub.body, pub.seq, {**extra, **events_part(evs)}), False
        text = pub.metrics_text.get(key)
        if text is None:
            evs = self.events_between(pub.event_start, pub.event_end)
            text = metrics_json(pub.body, pub.seq, {**extra, **events_part(evs)})
            pub.metrics_text[key] = text
        return data, text, True

    def events_between(self, start: int, end: int) -> list[dict[str, Any]]:
        lo = max(start, self.event_base) - self.event_base
        return self.event_log[lo : end - self.event_base]

    def broadcast(self, msg: dict[str, Any]) -> None:
        text = dumps(msg)
        for v in self.viewers:
            v.push(text)

    def status(self) -> dict[str, Any]:
        return {"type": "status", "playing": self.playing, "tps": self.tps,
                "ticks_per_frame": self.ticks_per_frame, "tick": self.tick, "share_path": self.share_path,
                "frame_hash": self.frame_hash}

    # ----------------------------------------------------------- producer
    def _build(self, work: Callable[[], object], keys: set[tuple[str, View]], seq: int) -> Published:
        """Worker thread: run `work` on the run, then build and pre-encode the next publication.

        Only the producer calls this, one call at a time, so the run is never touched concurrently.
        """
        work()
        run = self.run
        frame = run.frame
        events = [event_json(e) for e in run.take_events()]
        pub = Published(seq, frame, wall_ms(), run.frame_hash, "/s/" + run.share_token(), 0, 0,
                        metrics_body(frame), self.settings.per_page_max_pages, events)
        for lens, view in keys:
            pub.encode(lens, view)
        return pub

    async def _in_thread(self, work: Callable[[], object]) -> None:
        keys = {(v.lens, v.view) for v in self.viewers}
        pub = await asyncio.to_thread(self._build, work, keys, self.seq + 1)
        self._publish(pub)

    def _publish(self, pub: Published) -> None:
        self.seq = pub.seq
        pub.event_start = self.event_base + len(self.event_log)
        self.event_log.extend(pub.new_events)
        pub.new_events = []
        if len(self.event_log) > EVENT_LOG_KEEP:
            cut = len(self.event_log) - EVENT_LOG_KEEP // 2
            del self.event_log[:cut]
            self.event_base += cut
        pub.event_end = self.event_base + len(self.event_log)
        self.tick = pub.frame.tick
        self.frame_hash = pub.frame_hash
        self.share_path = pub.share_path
        self.latest = pub
        for v in self.viewers:
            v.offer(pub)

    def _frame_interval(self) -> tuple[int, float]:
        """Ticks per rendered frame and seconds between frames, honouring max_fps."""
        tpf = max(self.ticks_per_frame, math.ceil(self.tps / self.settings.max_fps))
        return tpf, tpf / self.tps

    async def run_producer(self) -> None:
        getter: asyncio.Task[tuple[Viewer | None, ClientMessage]] | None = None
        try:
            if self.start_tick > 0:
                await self._seek(self.start_tick)
            else:
                await self._in_thread(lambda: None)
            loop = asyncio.get_running_loop()
            due = loop.time()
            while not self.closed:
                if getter is None:
                    getter = asyncio.ensure_future(self.commands.get())
                timeout = max(0.0, due - loop.time()) if self.playing else None
                await asyncio.wait({getter}, timeout=timeout)
                if not getter.done():
                    tpf, interval = self._frame_interval()
                    await self._in_thread(functools.partial(self.run.advance, tpf))
                    now = loop.time()
                    due = max(due + interval, now - interval)
                    continue
                viewer, msg = getter.result()
                getter = None
                was_playing = self.playing
                await self._command(viewer, msg)
                if self.playing and not was_playing:
                    due = loop.time()
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug must not take the server down; viewers see the session end
            log.exception("session %s: producer failed", self.id)
            self.broadcast({"type": "error", "message": "session: internal error, the simulation stopped"})
        finally:
            if getter is not None:
                getter.cancel()

    async def _seek(self, target: int) -> None:
        """Fast-forward to `target` (rebuilding first if it lies behind), with progress messages."""
        run = self.run
        if target < run.tick:
            await asyncio.to_thread(run.rebuild)
        start = run.tick
        budget = self.settings.progress_interval_s
        while run.tick < target:
            await asyncio.to_thread(run.advance, target - run.tick, budget)
            if run.tick < target:
                self.broadcast({"type": "progress", "done": run.tick - start, "total": target - start})
        await self._in_thread(lambda: None)
        self.broadcast(self.status())

    async def _command(self, viewer: Viewer | None, msg: ClientMessage) -> None:
        run = self.run
        try:
            if isinstance(msg, Play):
                self.playing = True
            elif isinstance(msg, Pause):
                self.playing = False
            elif isinstance(msg, Speed):
                if msg.tps is not None:
                    self.tps = msg.tps
                if msg.ticks_per_frame is not None:
                    self.ticks_per_frame = msg.ticks_per_frame
            elif isinstance(msg, Step):
                self.playing = False
                if msg.unit == "tick":
                    await self._in_thread(lambda: run.advance(1))
                else:
                    await self._in_thread(run.compaction_step)
            elif isinstance(msg, Reset):
                self.playing = False
                await asyncio.to_thread(run.rebuild, run.start_scenario)
                await self._seek(self.start_tick)
                return
            elif isinstance(msg, Seek):
                self.playing = False
                run.check_target(msg.tick)
                await self._seek(msg.tick)
                return
            elif isinstance(msg, DoAction):
                action = msg.action
                await self._in_thread(lambda: run.apply(action))
            elif isinstance(msg, Proc):
                text = await asyncio.to_thread(run.proc, msg.file)
                if viewer is not None:
                    viewer.push({"type": "proc", "file": msg.file, "text": text})
                return
            else:
                return
        except (ScenarioError, ValueError) as err:
            if viewer is not None:
                viewer.push({"type": "error", "message": str(err)[:1000]})
            return
        self.broadcast(self.status())

    async def close(self) -> None:
        self.closed = True
        if self.linger is not None:
            self.linger.cancel()
        if self.producer is not None:
            self.producer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.producer
        for v in list(self.viewers):
            v.closed = True
            v.wake.set()


class Hub:
    """Every session of this process, with the caps on sessions and viewers."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.sessions: dict[str, Session] = {}
        self.nr_viewers = 0
        self._closing: set[asyncio.Task[None]] = set()
        self._watchdog: asyncio.Task[None] | None = None

    def ensure_watchdog(self) -> None:
        if self._watchdog is None or self._watchdog.done():
            self._watchdog = asyncio.get_running_loop().create_task(self._watch(), name="send-watchdog")

    async def _watch(self) -> None:
        """Evict viewers whose send has been stuck for longer than send_timeout_s."""
        loop = asyncio.get_running_loop()
        limit = self.settings.send_timeout_s
        while True:
            await asyncio.sleep(min(1.0, limit / 4))
            now = loop.time()
            for session in list(self.sessions.values()):
                for v in list(session.viewers):
                    since = v.send_since
                    if since is not None and now - since > limit and v.sender is not None:
                        log.info("session %s: evicting a viewer stuck in a send for %.1f s",
                                 session.id, now - since)
                        v.closed = True
                        v.sender.cancel()

    def check_room(self, new_session: bool) -> None:
        if self.nr_viewers >= self.settings.max_viewers:
            raise ServerFull(f"server full: {self.settings.max_viewers} viewers")
        if new_session and len(self.sessions) >= self.settings.max_sessions:
            idle = [s for s in self.sessions.values() if not s.viewers]
            if not idle:
                raise ServerFull(f"server full: {self.settings.max_sessions} simulations")
            self._expire(min(idle, key=lambda s: s.idle_since))  # make room: the oldest idle one

    async def create(self, scenario: Scenario, start_tick: int, preset: str | None) -> Session:
        self.check_room(True)
        run = await asyncio.to_thread(SimRun, scenario, self.settings.max_ff_work)
        self.check_room(True)
        sid = secrets.token_urlsafe(9)
        session = Session(sid, run, start_tick, preset, self.settings, self._idle)
        self.sessions[sid] = session
        return session

    def start(self, session: Session) -> None:
        session.producer = asyncio.create_task(session.run_producer(), name=f"producer-{session.id}")

    def _idle(self, session: Session) -> None:
        """The last viewer left: pause the run (kept for rejoining viewers) and expire it later."""
        loop = asyncio.get_running_loop()
        session.playing = False
        session.idle_since = loop.time()
        if session.linger is not None:
            session.linger.cancel()
        session.linger = loop.call_later(self.settings.session_linger_s, self._expire, session)

    def _expire(self, session: Session) -> None:
        if session.viewers or session.closed:
            return
        self.sessions.pop(session.id, None)
        task = asyncio.get_running_loop().create_task(session.close())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def close(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
        sessions = list(self.sessions.values())
        self.sessions.clear()
        for s in sessions:
            await s.close()
        for task in list(self._closing):
            with contextlib.suppress(Exception):
                await task
