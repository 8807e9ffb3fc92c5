"""WebSocket framing of the fast path (app/wire.py), checked against the `websockets` parser."""

from __future__ import annotations

import pytest
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from app.wire import OP_BINARY, OP_TEXT, DirectWriter, ws_frame


def parse(data: bytes) -> Frame:
    reader = StreamReader()
    reader.feed_data(data)
    gen = Frame.parse(reader.read_exact, mask=False)
    try:
        next(gen)
    except StopIteration as done:
        frame: Frame = done.value
        return frame
    raise AssertionError("incomplete frame")


@pytest.mark.parametrize("n", [0, 1, 125, 126, 65535, 65536, 200_000])
def test_frames_parse_back(n: int) -> None:
    payload = bytes(range(256)) * (n // 256) + bytes(n % 256)
    f = parse(ws_frame(OP_BINARY, payload))
    assert f.opcode == Opcode.BINARY and f.fin and f.data == payload
    t = parse(ws_frame(OP_TEXT, b"x" * n))
    assert t.opcode == Opcode.TEXT and len(t.data) == n


def test_no_fast_path_without_uvicorn_sansio() -> None:
    async def send(message: object) -> None:
        return None

    assert DirectWriter.attach({"type": "websocket"}) is None
    assert DirectWriter.attach({"type": "websocket", "extensions": {"zonescope.raw_send": send}}) is None
