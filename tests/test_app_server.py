"""A real uvicorn server on port 0 in a thread, driven by the `websockets` client.

Fairness is checked by sequence numbers, not wall-clock thresholds: with a slow and a stalled viewer
in the same session, the fast viewer still receives every frame the producer published.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from app.cli.serve_commands import uvicorn_config
from app.encoder import decode
from app.hub import Hub
from app.main import create_app
from app.settings import Settings
from simcore.link import make_token
from simcore.scenario import validate_scenario

TINY = {"name": "tiny", "seed": 9, "node": {"zones": [{"name": "Normal", "pages": 8192}]},
        "workload": {"events_per_tick": 60, "target_occupancy": 0.6}}
TOKEN = make_token(validate_scenario(TINY), 0)


@dataclass
class Server:
    port: int
    hub: Hub
    server: uvicorn.Server
    thread: threading.Thread

    def url(self, query: str) -> str:
        return f"ws://127.0.0.1:{self.port}/ws?{query}"

    @property
    def origin(self) -> Any:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def serve(settings: Settings) -> Iterator[Server]:
    app = create_app(settings)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn_config(app, "127.0.0.1", port, settings.max_message_bytes, "warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    try:
        yield Server(port, app.state.hub, server, thread)
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()
        assert not thread.is_alive(), "server did not shut down"


@dataclass
class Watch:
    seqs: list[int] = field(default_factory=list)
    metrics_seqs: list[int] = field(default_factory=list)

    def gaps(self) -> int:
        return sum(b - a - 1 for a, b in zip(self.seqs, self.seqs[1:], strict=False))


async def consume(ws: ClientConnection, watch: Watch, ack_delay: float, stop: asyncio.Event) -> None:
    """Read frames; ack each one after `ack_delay` (a page whose render takes that long)."""
    while not stop.is_set():
        try:
            msg = await asyncio.wait_for(ws.recv(), 0.5)
        except TimeoutError:
            continue
        if isinstance(msg, bytes):
            header, _ = decode(msg)
            watch.seqs.append(header.seq)
            if ack_delay:
                await asyncio.sleep(ack_delay)
            await ws.send(json.dumps({"type": "ack", "seq": header.seq}))
        else:
            doc = json.loads(msg)
            if doc["type"] == "metrics":
                watch.metrics_seqs.append(doc["seq"])


async def hello_of(ws: ClientConnection) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(await ws.recv())
    assert doc["type"] == "hello"
    return doc


def test_slow_and_stalled_viewers_do_not_delay_a_fast_one() -> None:
    async def run(srv: Server) -> tuple[Watch, Watch, Watch]:
        async with connect(srv.url(f"link={TOKEN}"), origin=srv.origin) as teacher:
            sid = (await hello_of(teacher))["session"]
            async with connect(srv.url(f"session={sid}"), origin=srv.origin) as slow, \
                    connect(srv.url(f"session={sid}"), origin=srv.origin) as stalled:
                await hello_of(slow)
                await hello_of(stalled)  # and then never reads again
                viewers = srv.hub.sessions[sid].viewers
                assert len(viewers) == 3 and all(v.direct is not None for v in viewers)  # the fast path
                fast_w, slow_w, stalled_w = Watch(), Watch(), Watch()
                stop = asyncio.Event()
                tasks = [asyncio.create_task(consume(teacher, fast_w, 0.0, stop)),
                         asyncio.create_task(consume(slow, slow_w, 0.6, stop))]
                # 10 frames/s and 3 credits: the fast viewer may lag 300 ms without a drop (a loaded
                # machine); the slow one renders in 600 ms, so it can take 5 frames/s at most
                await teacher.send(json.dumps({"type": "speed", "tps": 10, "ticks_per_frame": 1}))
                await teacher.send(json.dumps({"type": "play"}))
                for _ in range(400):
                    if len(fast_w.seqs) >= 30:
                        break
                    await asyncio.sleep(0.05)
                stop.set()
                await asyncio.gather(*tasks)
                await teacher.send(json.dumps({"type": "pause"}))
                # what the stalled viewer got: read what its socket holds, without acking anything
                while True:
                    try:
                        msg = await asyncio.wait_for(stalled.recv(), 0.3)
                    except TimeoutError:
                        break
                    if isinstance(msg, bytes):
                        stalled_w.seqs.append(decode(msg)[0].seq)
                return fast_w, slow_w, stalled_w

    with serve(Settings(max_fps=30, credit_window=3)) as srv:
        fast, slow, stalled = asyncio.run(run(srv))
    assert len(fast.seqs) >= 30
    assert fast.gaps() == 0, fast.seqs  # every frame the producer published reached the fast viewer
    assert fast.seqs == sorted(set(fast.seqs))
    assert slow.gaps() > 0 and len(slow.seqs) < len(fast.seqs)  # the slow viewer skipped frames
    assert slow.seqs == sorted(set(slow.seqs))
    assert len(stalled.seqs) <= 3  # the credit window: nothing more without acks


def test_disconnects_are_noticed_and_idle_sessions_end() -> None:
    async def run(srv: Server) -> None:
        ws = await connect(srv.url(f"link={TOKEN}"), origin=srv.origin)
        await hello_of(ws)
        assert srv.hub.nr_viewers == 1 and len(srv.hub.sessions) == 1
        ws.transport.abort()  # vanish without a close handshake
        for _ in range(100):
            if srv.hub.nr_viewers == 0 and not srv.hub.sessions:
                break
            await asyncio.sleep(0.05)
        assert srv.hub.nr_viewers == 0 and not srv.hub.sessions

    with serve(Settings(session_linger_s=0.1)) as srv:
        asyncio.run(run(srv))


def test_origin_refused_and_bad_link_reason_over_a_real_socket() -> None:
    async def run(srv: Server) -> None:
        with pytest.raises(Exception, match="403"):
            async with connect(srv.url("preset=default"), origin="http://evil.example"):
                pass
        async with connect(srv.url("link=z1.garbage"), origin=srv.origin) as ws:
            err = json.loads(await ws.recv())
            assert err["type"] == "error" and err["message"].startswith("link:")
            with pytest.raises(ConnectionClosed) as exc:
                await ws.recv()
            assert exc.value.rcvd is not None and exc.value.rcvd.code == 1008
            assert exc.value.rcvd.reason.startswith("link:")

    with serve(Settings()) as srv:
        asyncio.run(run(srv))


def test_shutdown_with_a_viewer_connected_is_clean() -> None:
    closed: list[int] = []

    async def hold(port: int, ready: threading.Event) -> None:
        async with connect(f"ws://127.0.0.1:{port}/ws?link={TOKEN}") as ws:
            await hello_of(ws)
            ready.set()
            try:
                while True:
                    await ws.recv()
            except ConnectionClosed as err:
                closed.append(err.rcvd.code if err.rcvd is not None else 1006)

    with serve(Settings()) as srv:
        ready = threading.Event()
        client = threading.Thread(target=lambda: asyncio.run(hold(srv.port, ready)), daemon=True)
        client.start()
        assert ready.wait(10)
    client.join(10)
    assert closed and closed[0] in (1001, 1012)
