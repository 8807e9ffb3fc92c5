"""Fan-out: one presenter plus N followers on one session of a real `zonescope serve` process.

Run: python bench/bench_fanout.py [--viewers 300] [--slow 30] [--fps 30] [--seconds 10]
                                  [--scenario default|light] [--slow-render-ms 150]

The server runs in its own process (uvicorn, one worker); this process holds every viewer on one
asyncio loop with the `websockets` client. A viewer reads each binary frame's header, records the
latency (receive time minus the header's t_send_ms: the producer's publish time, so the wait in the
viewer's slot counts) and acks it: at once for fast viewers, after --slow-render-ms for slow ones (a
laptop that renders slowly). Drops are sequence gaps per viewer. Both processes share the machine, so
the figures include the load generator's own CPU use (reported).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import struct
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field

from websockets.asyncio.client import connect

from simcore.link import make_token
from simcore.scenario import load_scenario

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


async def viewer(uri: str, st: Stats, render_s: float, measuring: asyncio.Event, stop: asyncio.Event) -> None:
    async with connect(uri, compression=None, max_queue=64, open_timeout=30) as ws:
        while not stop.is_set():
            try:
                msg = await asyncio.wait_for(ws.recv(decode=False), 0.5)
            except TimeoutError:
                continue
            if msg[:2] != b"ZS":  # metrics and other JSON: not parsed here
                continue
            _, _, _, seq, _, t_send = HEADER.unpack_from(msg)
            if measuring.is_set():
                st.latencies.append(time.time() * 1000 - t_send)
                st.seqs.append(seq)
            if render_s:
                await asyncio.sleep(render_s)
            await ws.send(json.dumps({"type": "ack", "seq": seq}))


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
    base = f"ws://127.0.0.1:{port}/ws"
    measuring, stop = asyncio.Event(), asyncio.Event()
    presenter = await connect(f"{base}?{query}", compression=None, open_timeout=30)
    hello = json.loads(await presenter.recv())
    sid = hello["session"]
    stats = [Stats(slow=i < args.slow) for i in range(args.viewers)]
    tasks = []
    for st in stats:
        render = args.slow_render_ms / 1000 if st.slow else 0.0
        tasks.append(asyncio.create_task(viewer(f"{base}?session={sid}", st, render, measuring, stop)))
        await asyncio.sleep(0.002)
    presenter_stats = Stats(slow=False)
    tasks.append(asyncio.create_task(_presenter(presenter, presenter_stats, measuring, stop)))
    await presenter.send(json.dumps({"type": "speed", "tps": args.fps, "ticks_per_frame": 1}))
    await presenter.send(json.dumps({"type": "play"}))
    await asyncio.sleep(args.warmup)
    cpu0, own0, t0 = cpu_seconds(server_pid), time.process_time(), time.monotonic()
    measuring.set()
    await asyncio.sleep(args.seconds)
    measuring.clear()
    cpu1, own1, t1 = cpu_seconds(server_pid), time.process_time(), time.monotonic()
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    await presenter.close()
    secs = t1 - t0
    report(args, [*stats, presenter_stats], secs, (cpu1 - cpu0) / secs, (own1 - own0) / secs)


async def _presenter(ws: object, st: Stats, measuring: asyncio.Event, stop: asyncio.Event) -> None:
    from websockets.asyncio.client import ClientConnection

    assert isinstance(ws, ClientConnection)
    while not stop.is_set():
        try:
            msg = await asyncio.wait_for(ws.recv(decode=False), 0.5)
        except TimeoutError:
            continue
        if msg[:2] == b"ZS":
            _, _, _, seq, _, t_send = HEADER.unpack_from(msg)
            if measuring.is_set():
                st.latencies.append(time.time() * 1000 - t_send)
                st.seqs.append(seq)
            await ws.send(json.dumps({"type": "ack", "seq": seq}))


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
