"""Fan-out: one presenter plus N followers on one session of a real `zonescope serve` process.

Run: python bench/bench_fanout.py [--viewers 300] [--slow 30] [--fps 30] [--seconds 10]
                                  [--scenario default|light] [--slow-render-ms 150]

The server runs in its own process (uvicorn, one worker); this process holds every viewer on one
asyncio loop, each a minimal RFC 6455 client on a bare asyncio protocol (`RawViewer`). A viewer reads
each binary frame's header, records the latency (receive time minus the header's t_send_ms: the
producer's publish time, so any wait in the viewer's slot counts) and acks it: at once for fast
viewers, after --slow-render-ms for slow ones (a laptop that renders slowly). Drops are sequence gaps
per viewer. Both processes share the machine, so the figures include the load generator's own CPU
use (reported).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import socket
import struct
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field

from app.presets import load_scenario
from simcore.link import make_token

HEADER = struct.Struct("<2sBBIId")


@dataclass
class Stats:
    slow: bool
    seqs: list[int] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)

    def gaps(self) -> int:
        return sum(b - a - 1 for a, b in zip(self.seqs, self.seqs[1:], strict=False))


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_server(port: int, viewers: int, fps: float) -> subprocess.Popen[bytes]:
    env = {**os.environ, "ZONESCOPE_MAX_VIEWERS": str(viewers + 10), "ZONESCOPE_MAX_FPS": str(fps)}
    code = f"from app.cli import main; main(['serve', '--port', '{port}', '--log-level', 'warning'])"
    proc = subprocess.Popen([sys.executable, "-c", code], env=env)
    for _ in range(200):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not start")


class RawViewer(asyncio.Protocol):
    """A lean WebSocket client (RFC 6455) on a bare asyncio protocol: one object per viewer, no task.

    It parses the server's unmasked frames, records each map frame's seq and latency, and acks it
    (at once, or `render_s` later); client frames are masked with a zero key, which RFC 6455 allows.
    Lighter than a full client library, so that the load generator leaves the CPU to the server.
    """

    def __init__(self, path: str, port: int, st: Stats, render_s: float, measuring: asyncio.Event) -> None:
        self.path, self.port, self.st, self.render_s, self.measuring = path, port, st, render_s, measuring
        self.buf = bytearray()
        self.upgraded = False
        self.texts: asyncio.Queue[str] = asyncio.Queue()  # JSON messages, for the presenter only
        self.keep_texts = False
        self.closed = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write((f"GET {self.path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nUpgrade: websocket\r\n"
                         f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                         "Sec-WebSocket-Version: 13\r\n\r\n").encode())

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if b" 101 " not in buf[: buf.find(b"\r\n")]:
                raise SystemExit(f"handshake refused: {bytes(buf[:80])!r}")
            del buf[: end + 4]
            self.upgraded = True
        pos, size = 0, len(buf)
        while size - pos >= 2:
            b0, n = buf[pos], buf[pos + 1] & 0x7F
            head = 2
            if n == 126:
                if size - pos < 4:
                    break
                n, head = int.from_bytes(buf[pos + 2 : pos + 4], "big"), 4
            elif n == 127:
                if size - pos < 10:
                    break
                n, head = int.from_bytes(buf[pos + 2 : pos + 10], "big"), 10
            if size - pos < head + n:
                break
            self.message(b0 & 0x0F, bytes(buf[pos + head : pos + head + n]))
            pos += head + n
        del buf[:pos]

    def message(self, opcode: int, payload: bytes) -> None:
        if opcode == 0x2:
            _, _, _, seq, _, t_send = HEADER.unpack_from(payload)
            if self.measuring.is_set():
                self.st.latencies.append(time.time() * 1000 - t_send)
                self.st.seqs.append(seq)
            ack = b'{"type":"ack","seq":%d}' % seq
            if self.render_s:
                asyncio.get_running_loop().call_later(self.render_s, self.send, ack)
            else:
                self.send(ack)
        elif opcode == 0x1 and self.keep_texts:
            self.texts.put_nowait(payload.decode())
        elif opcode == 0x9:  # ping
            self.send(payload, 0xA)
        elif opcode == 0x8 and self.transport is not None:
            self.transport.close()

    def send(self, payload: bytes, opcode: int = 0x1) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        assert len(payload) < 126
        self.transport.write(bytes((0x80 | opcode, 0x80 | len(payload))) + b"\0\0\0\0" + payload)

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(b"\x88\x82\0\0\0\0\x03\xe8")  # close 1000
            self.transport.close()


async def open_viewer(port: int, path: str, st: Stats, render_s: float, measuring: asyncio.Event,
                      keep_texts: bool = False) -> RawViewer:
    loop = asyncio.get_running_loop()
    _, proto = await loop.create_connection(
        lambda: RawViewer(path, port, st, render_s, measuring), "127.0.0.1", port)
    proto.keep_texts = keep_texts
    return proto


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


async def run(args: argparse.Namespace, port: int, server_pid: int) -> None:
    if args.scenario == "light":
        sc = load_scenario("default").model_copy(
            update={"workload": load_scenario("default").workload.model_copy(update={"events_per_tick": 50})})
        query = f"link={make_token(sc, 0)}"
    else:
        query = f"preset={args.scenario}"
    measuring = asyncio.Event()
    presenter_stats = Stats(slow=False)
    presenter = await open_viewer(port, f"/ws?{query}", presenter_stats, 0.0, measuring, keep_texts=True)
    hello = json.loads(await presenter.texts.get())
    sid = hello["session"]
    stats = [Stats(slow=i < args.slow) for i in range(args.viewers)]
    viewers = []
    for st in stats:
        render = args.slow_render_ms / 1000 if st.slow else 0.0
        viewers.append(await open_viewer(port, f"/ws?session={sid}", st, render, measuring))
    presenter.send(json.dumps({"type": "speed", "tps": args.fps, "ticks_per_frame": 1}).encode())
    presenter.send(b'{"type":"play"}')
    await asyncio.sleep(args.warmup)
    cpu0, own0, t0 = cpu_seconds(server_pid), time.process_time(), time.monotonic()
    measuring.set()
    await asyncio.sleep(args.seconds)
    measuring.clear()
    cpu1, own1, t1 = cpu_seconds(server_pid), time.process_time(), time.monotonic()
    presenter.send(b'{"type":"pause"}')
    for v in [*viewers, presenter]:
        v.close()
    secs = t1 - t0
    report(args, [*stats, presenter_stats], secs, (cpu1 - cpu0) / secs, (own1 - own0) / secs)


def report(args: argparse.Namespace, stats: list[Stats], secs: float, server_cpu: float,
           own_cpu: float) -> None:
    all_seqs = [s for st in stats for s in st.seqs]
    published = (max(all_seqs) - min(all_seqs) + 1) if all_seqs else 0
    print(f"scenario {args.scenario}, {len(stats)} viewers ({args.slow} slow, "
          f"render {args.slow_render_ms} ms), "
          f"target {args.fps} frames/s, {secs:.1f} s measured")
    delivered = sum(len(st.seqs) for st in stats)
    per = server_cpu * secs / delivered * 1e6 if delivered else float("nan")
    print(f"frames published: {published} ({published / secs:.1f}/s); delivered {delivered} "
          f"({delivered / secs:.0f}/s); server CPU {server_cpu:.0%} of a core = {per:.0f} us "
          f"per delivered frame (binary + metrics + ack); load generator {own_cpu:.0%}; "
          f"load average {os.getloadavg()[0]:.1f}")
    print("| viewers | n | frames/viewer | latency p50 ms | p99 ms | max ms | dropped (gaps) "
          "| viewers with drops |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for label, group in (("fast", [s for s in stats if not s.slow]), ("slow", [s for s in stats if s.slow])):
        if not group:
            continue
        lat = [v for st in group for v in st.latencies]
        frames = sum(len(st.seqs) for st in group) / len(group)
        gaps = sum(st.gaps() for st in group)
        with_drops = sum(1 for st in group if st.gaps())
        print(f"| {label} | {len(group)} | {frames:.1f} | {pct(lat, 0.5):.1f} | {pct(lat, 0.99):.1f} | "
              f"{max(lat, default=float('nan')):.1f} | {gaps} | {with_drops} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--viewers", type=int, default=300, help="followers (the presenter comes on top)")
    ap.add_argument("--slow", type=int, default=30, help="how many of them render slowly")
    ap.add_argument("--slow-render-ms", type=float, default=150.0)
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument("--scenario", default="light", help="'light' (1 GiB map, 50 events/tick) or a preset")
    args = ap.parse_args()
    port = free_port()
    server = start_server(port, args.viewers, args.fps)
    try:
        asyncio.run(run(args, port, server.pid))
    finally:
        server.terminate()
        server.wait(15)


if __name__ == "__main__":
    main()
