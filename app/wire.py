"""Frame delivery on the wire: WebSocket framing once per frame, one transport write per viewer.

Server-to-client WebSocket frames are not masked (RFC 6455 section 5.1), so the framed bytes of a
message are the same for every viewer. The producer's messages (binary map + metrics text) are framed
once per publication and, under uvicorn's websockets-sansio protocol, written straight to each
viewer's transport in one call: no per-viewer ASGI send, no per-viewer framing, one syscall instead
of two. Everything else (hello, status, errors, close) goes through the ordinary ASGI send.

The fast path is taken only when every assumption holds: the connection's raw ASGI `send` is a bound
method of uvicorn's `WebSocketsSansIOProtocol` (captured by `CaptureRawSend` before Starlette wraps
it), no WebSocket extension was negotiated (the server turns permessage-deflate off), and the
connection is open with no close sent. Otherwise delivery falls back to `WebSocket.send_bytes` /
`send_text`. Flow control is honoured: a write waits while uvicorn has paused writing.
"""

from __future__ import annotations

import asyncio
import struct
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

OP_TEXT = 0x1
OP_BINARY = 0x2
RAW_SEND_KEY = "zonescope.raw_send"


def ws_frame(opcode: int, payload: bytes) -> bytes:
    """One final, unmasked WebSocket frame (server to client)."""
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, n)
    elif n < 1 << 16:
        head = struct.pack("!BBH", 0x80 | opcode, 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 127, n)
    return head + payload


class CaptureRawSend:
    """ASGI middleware: keeps the server's own `send` of a WebSocket connection in the scope."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            scope.setdefault("extensions", {})
            scope["extensions"] = {**(scope["extensions"] or {}), RAW_SEND_KEY: send}
        await self.app(scope, receive, send)


class DirectWriter:
    def __init__(self, proto: Any) -> None:
        self.proto = proto

    @staticmethod
    def attach(scope: Scope) -> DirectWriter | None:
        """A writer for this connection, or None when the fast path's assumptions do not hold."""
        send = (scope.get("extensions") or {}).get(RAW_SEND_KEY)
        proto = getattr(send, "__self__", None)
        if proto is None or type(proto).__name__ != "WebSocketsSansIOProtocol":
            return None
        conn = getattr(proto, "conn", None)
        if conn is None or getattr(conn, "extensions", None) != []:
            return None
        if not all(hasattr(proto, a) for a in ("transport", "writable", "close_sent", "disconnected")):
            return None
        if not isinstance(proto.writable, asyncio.Event):
            return None
        return DirectWriter(proto)

    def usable(self) -> bool:
        p = self.proto
        return not (p.close_sent or p.disconnected or p.transport is None or p.transport.is_closing())

    def ready(self) -> bool:
        """Open, and uvicorn has not paused writing (the transport's buffer is below its high mark)."""
        return self.usable() and bool(self.proto.writable.is_set())

    def write_now(self, data: bytes) -> None:
        """Write without waiting; only when `ready()`, so the transport buffers at most a frame or two."""
        self.proto.transport.write(data)

    async def write(self, data: bytes) -> None:
        p = self.proto
        if not p.writable.is_set():
            await p.writable.wait()
        if not self.usable():
            raise ConnectionError("websocket closed")
        p.transport.write(data)
