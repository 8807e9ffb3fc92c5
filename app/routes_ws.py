"""The `/ws` endpoint: Origin check, session start or join, then a reader loop beside the sender task."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketState

from app.encoder import View, hover_info
from app.hub import Hub, ServerFull
from app.live_session import LiveSession
from app.messages import (
    CONTROL_TYPES,
    Ack,
    Cancel,
    ClientMessage,
    DoAction,
    Hover,
    Lens,
    Link,
    MessageError,
    ViewMsg,
    parse_message,
)
from app.rooms import Room
from app.settings import Settings
from app.sources import resolve
from app.viewer import Viewer, dumps
from app.wire import DirectWriter
from app.wire_types import PresetRef, error_msg
from simcore import AllocAction, ScenarioError, parse_json

router = APIRouter()
POLICY = 1008
TRY_AGAIN_LATER = 1013
GOING_AWAY = 1001
MAX_COMMANDS_QUEUED = 64
ACK_PREFIX = '{"type":"ack","seq":'


def origin_allowed(ws: WebSocket, settings: Settings) -> bool:
    """Browsers always send Origin: it must be listed, or (no list) name the host the page came from."""
    origin = ws.headers.get("origin")
    if origin is None:
        return True  # not a browser: no ambient credentials to abuse
    if settings.allowed_origins:
        return origin in settings.allowed_origins
    host = ws.headers.get("host", "")
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and bool(host) and parts.netloc == host


def close_reason(text: str) -> str:
    """A close reason fits in 123 bytes of UTF-8."""
    raw = text.encode()[:123]
    return raw.decode("utf-8", errors="ignore")


async def refuse(ws: WebSocket, code: int, message: str) -> None:
    with contextlib.suppress(Exception):
        await ws.send_text(dumps(error_msg(message)))
        await ws.close(code, close_reason(message))


class TokenBucket:
    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.tokens = rate
        self.t = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.rate, self.tokens + (now - self.t) * self.rate)
        self.t = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


@router.websocket("/ws")
async def ws_endpoint(ws: WebSocket) -> None:
    settings: Settings = ws.app.state.settings
    hub: Hub = ws.app.state.hub
    if not origin_allowed(ws, settings):
        await ws.close(POLICY, "origin not allowed")
        return
    await ws.accept()
    query = dict(ws.query_params)
    try:
        session, role, new, room = await _join(hub, settings, query)
    except ScenarioError as err:
        await refuse(ws, POLICY, str(err))
        return
    except ServerFull as err:
        await refuse(ws, TRY_AGAIN_LATER, str(err))
        return
    viewer = Viewer(ws, session, role, settings.credit_window)
    if room is not None:
        viewer.room = {"id": room.id, "key": room.key}
    viewer.direct = DirectWriter.attach(ws.scope)
    hub.nr_viewers += 1
    presets: list[PresetRef] = [{"name": p["name"], "title": p["title"]} for p in ws.app.state.presets]
    session.attach(viewer, presets)
    if new:
        hub.start(session)
    sender = asyncio.create_task(viewer.run_sender())
    viewer.sender = sender
    hub.ensure_watchdog()
    reader = asyncio.create_task(read_loop(ws, viewer, session, settings))
    close: tuple[int, str] | None = None
    try:
        done, _ = await asyncio.wait({sender, reader}, return_when=asyncio.FIRST_COMPLETED)
        if reader in done and not reader.cancelled() and reader.exception() is None:
            close = reader.result()
        elif sender in done and viewer.closed:
            close = (GOING_AWAY, "session ended")
    finally:
        viewer.closed = True  # the sender also stops on this, should a cancellation be lost
        viewer.wake.set()
        for task in (sender, reader):
            task.cancel()
        hub.nr_viewers -= 1  # bookkeeping before any await: a cancelled endpoint may not resume
        session.detach(viewer)
        for task in (sender, reader):
            with contextlib.suppress(BaseException):
                await task
        if ws.application_state == WebSocketState.CONNECTED and ws.client_state == WebSocketState.CONNECTED:
            code, reason = close if close is not None else (GOING_AWAY, "")
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1.0):
                    await ws.close(code, close_reason(reason))


async def _join(
    hub: Hub, settings: Settings, query: dict[str, str]
) -> tuple[LiveSession, str, bool, Room | None]:
    """The session a connection joins and as what: (session, role, whether it is new, the room a
    presenter drives). `session=ID` or `room=ID` joins as a follower; otherwise the connection
    presents a preset or link, in its room (`room=ID&key=K`, app/rooms.py) or a new one."""
    if "session" in query:
        if "preset" in query or "link" in query or "room" in query:
            raise ScenarioError("query: give session alone (it joins a running simulation)")
        return hub.join(query["session"]), "follower", False, None
    room_id, key = query.get("room"), query.get("key")
    if room_id is not None and key is None:
        if "preset" in query or "link" in query:
            raise ScenarioError("query: a follower gives room alone (the presenter chooses the run)")
        return hub.join(hub.rooms.for_follower(room_id).session_id), "follower", False, None
    source = resolve(query, settings.max_ff_work, settings.max_node_pages, hub.shared,
                     settings.sim_events_per_s)
    room = hub.rooms.for_presenter(room_id, key, set(hub.sessions))
    found = hub.sessions.get(room.session_id)
    wanted = f"preset:{source.preset}" if source.preset is not None else f"link:{query.get('link')}"
    if found is not None and not found.closed and room.source == wanted:
        hub.check_room(False)
        return found, "presenter", False, room  # a reload: the presenter's run goes on
    session = await hub.create(source.scenario, source.start_tick, source.preset)
    previous = room.session_id
    room.session_id, room.source = session.id, wanted
    old = hub.sessions.get(previous)
    if old is not None:  # its followers move to the new run
        old.broadcast({"type": "moved", "room": room.id, "session": session.id, "preset": source.preset})
    return session, "presenter", True, room


async def read_loop(
    ws: WebSocket, viewer: Viewer, session: LiveSession, settings: Settings
) -> tuple[int, str] | None:
    """Read and dispatch control messages. Returns a close code and reason, or None if the client left."""
    bucket = TokenBucket(settings.rate_per_s)
    limit = settings.max_message_bytes
    while True:
        m = await ws.receive()
        if m["type"] == "websocket.disconnect":
            return None
        text: str | None = m.get("text")
        if text is not None and text.startswith(ACK_PREFIX) and len(text) < 40 and ack_fast(text, viewer):
            continue  # the common message, without the full validation (which it would pass)
        data: bytes | None = m.get("bytes")
        size = len(text.encode()) if text is not None else len(data or b"")
        if size > limit:
            return POLICY, f"message larger than {limit} bytes"
        try:
            if text is None:
                raise MessageError("message: binary messages are not accepted; send JSON text")
            try:
                doc = parse_json(text, "message")
            except ScenarioError as err:  # not JSON, or over the depth / number limits
                raise MessageError(str(err)) from None
            msg = parse_message(doc)
        except MessageError as err:
            if not bucket.take():
                return POLICY, f"rate limit: more than {settings.rate_per_s:g} messages/s"
            viewer.push(error_msg(str(err)))
            continue
        if isinstance(msg, Ack) and viewer.ack(msg.seq):
            continue  # acks of frames in flight are free
        if not bucket.take():
            return POLICY, f"rate limit: more than {settings.rate_per_s:g} messages/s"
        dispatch(msg, viewer, session, settings)


def ack_fast(text: str, viewer: Viewer) -> bool:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        return False
    seq = doc.get("seq") if type(doc) is dict and len(doc) == 2 else None
    return type(seq) is int and viewer.ack(seq)


def dispatch(msg: ClientMessage, viewer: Viewer, session: LiveSession, settings: Settings) -> None:
    if isinstance(msg, Ack):
        return
    if isinstance(msg, Lens):
        viewer.lens = msg.lens
        session.reoffer(viewer)
    elif isinstance(msg, ViewMsg):
        viewer.view = View(msg.start_pfn, msg.end_pfn).clamp(session.nr_pages)
        session.reoffer(viewer)
    elif isinstance(msg, Link):
        try:
            viewer.push(session.link_message())
        except ScenarioError as err:
            viewer.push(error_msg(str(err)))
    elif isinstance(msg, Hover):
        if session.latest is None:
            viewer.push(error_msg("hover: no frame yet"))
            return
        try:
            viewer.push(hover_info(session.latest.frame, msg.pfn, session.zone_spans))
        except ValueError as err:
            viewer.push(error_msg(str(err)))
    else:
        kind = msg.type
        if kind in CONTROL_TYPES and viewer.role != "presenter" and not settings.followers_control:
            viewer.push(error_msg("session: only the presenter controls this session"))
            return
        if isinstance(msg, Cancel):  # not queued: the producer is busy with the seek it stops
            session.cancel_seek()
            return
        if isinstance(msg, DoAction) and isinstance(msg.action, AllocAction) \
                and msg.action.count > settings.max_alloc_count:
            viewer.push(error_msg(f"action.count: at most {settings.max_alloc_count} on this server"))
            return
        if session.commands.qsize() >= MAX_COMMANDS_QUEUED:
            viewer.push(error_msg(f"session: busy ({MAX_COMMANDS_QUEUED} queued)"))
            return
        session.commands.put_nowait((viewer, msg))
