"""Render rate of the dashboard's zone map in headless Debian chromium.

Starts the real server (for the page's own static files and plotly.js), opens a bare same-origin page
with a map div, and drives the page's `MapView` (static/js/mapview.js) through N frames: each frame is
a complete binary protocol frame (header + deflated cells, built in the page with CompressionStream),
decoded by `decodeFrame` (DecompressionStream) and drawn with `Plotly.react`, exactly as the live page
does; no socket is involved, so the figure is the page's own ceiling.

    python bench/bench_render.py [--frames 150] [--repeat 3] [--json]

Each case runs `--repeat` times; the table shows the best run and the median run (the machine is
shared, so the best run is the page's ceiling and the median what a busy machine gives).

Two figures per case: "render/s" is Plotly.react of the map alone (frames decoded beforehand);
"decode+render/s" adds DecompressionStream decoding, the next frame decoding while the current one
renders, as in the page (decode latency is mostly waiting for the stream's tasks, not CPU).
Cases: a 16 k-cell pageblock map (128 x 128) and a 128 k-cell per-page view (256 x 512).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import threading
import time
from typing import Any

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
        "--disable-gpu", "--disable-quic"]
CASES = [
    {"name": "16k pageblock cells (128x128)", "rows": 128, "cols": 128, "unit": 0, "lens": 0},
    {"name": "128k per-page cells (256x512)", "rows": 256, "cols": 512, "unit": 1, "lens": 5},
]
BENCH_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>bench</title>
<link rel="stylesheet" href="/static/css/zonescope.css">
<script src="/static/vendor/plotly.min.js"></script></head>
<body><div class="map-wrap" style="width:1000px"><div id="map" class="chart map"></div>
<div id="map-tooltip" class="tooltip" hidden></div></div></body></html>"""

# Runs in the page (through CDP, so the page's CSP does not apply to this function itself; the modules
# it imports are the page's own files under script-src 'self').
BENCH_JS = """
async ({rows, cols, unit, lens, frames, variants}) => {
  const { MapView } = await import('/static/js/mapview.js');
  const { makeLenses } = await import('/static/js/palette.js');
  const { decodeFrame } = await import('/static/js/protocol.js');
  const n = rows * cols;
  const nvals = lens === 0 ? 5 : 11;
  async function deflate(bytes) {
    const s = new Blob([bytes]).stream().pipeThrough(new CompressionStream('deflate'));
    return new Uint8Array(await new Response(s).arrayBuffer());
  }
  // a few distinct frames: runs of values (like a real map) with a moving band of changes
  const bufs = [];
  let seed = 12345;
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296;
  for (let v = 0; v < variants; v++) {
    const cells = new Uint8Array(n);
    let val = 0;
    for (let i = 0; i < n; i++) { if (rnd() < 0.08) val = Math.floor(rnd() * nvals); cells[i] = val; }
    const body = await deflate(cells);
    const buf = new ArrayBuffer(32 + body.length);
    const dv = new DataView(buf);
    dv.setUint8(0, 0x5a); dv.setUint8(1, 0x53); dv.setUint8(2, 1); dv.setUint8(3, 1);
    dv.setUint32(4, v, true); dv.setUint32(8, v, true); dv.setFloat64(12, Date.now(), true);
    dv.setUint8(20, lens); dv.setUint8(21, unit); dv.setUint16(22, rows, true); dv.setUint16(24, cols, true);
    dv.setUint32(26, 0, true);
    new Uint8Array(buf, 32).set(body);
    bufs.push({ buf, bytes: body.length });
  }
  const pages = unit ? 1 : 512;
  const $ = (id) => document.getElementById(id);
  const mv = new MapView($('map'), $('map-tooltip'), makeLenses());
  const metricsFor = (i) => ({ scanners: [{ zone: 'Normal', migrate_pfn: (i * 97 % n) * pages,
    free_pfn: (n - 1 - (i * 89 % n)) * pages, sync: 'sync', order: -1, active: true,
    trail_migrate: [0, 1, 2].map((k) => Math.max(0, i * 97 % n - k) * pages),
    trail_free: [0, 1, 2].map((k) => Math.min(n - 1, n - 1 - (i * 89 % n) + k) * pages) }] });
  // warm-up (first plot builds the DOM)
  for (let i = 0; i < 5; i++) {
    await mv.render(await decodeFrame(bufs[i % variants].buf.slice(0)), metricsFor(i));
  }
  // as in the page, the next frame decodes (DecompressionStream) while this one renders
  const decodeMs = [], renderMs = [];
  const decode = (i) => {
    const a = performance.now();
    return decodeFrame(bufs[i % variants].buf.slice(0)).then((f) => {
      decodeMs.push(performance.now() - a);
      return f;
    });
  };
  const t0 = performance.now();
  let next = decode(0);
  for (let i = 0; i < frames; i++) {
    const f = await next;
    next = decode(i + 1);
    const b = performance.now();
    await mv.render(f, metricsFor(i));
    renderMs.push(performance.now() - b);
  }
  await next;
  const total = performance.now() - t0;
  // render only: the same frames decoded beforehand (the Plotly.react cost alone)
  const decoded = [];
  for (let v = 0; v < variants; v++) decoded.push(await decodeFrame(bufs[v].buf.slice(0)));
  const t1 = performance.now();
  for (let i = 0; i < frames; i++) await mv.render(decoded[i % variants], metricsFor(i));
  const renderOnly = performance.now() - t1;
  const q = (arr, p) => {
    const s = [...arr].sort((x, y) => x - y);
    return s[Math.min(s.length - 1, Math.floor(p * s.length))];
  };
  return { frames, total_ms: total, renders_per_s: frames / (total / 1000),
    render_only_per_s: frames / (renderOnly / 1000),
    decode_ms_p50: q(decodeMs, 0.5), render_ms_p50: q(renderMs, 0.5), render_ms_p95: q(renderMs, 0.95),
    deflated_bytes: Math.round(bufs.reduce((s, x) => s + x.bytes, 0) / variants) };
}
"""


def start_server() -> tuple[Any, threading.Thread, str]:
    import uvicorn

    from app.cli.serve_commands import uvicorn_config
    from app.main import create_app
    from app.settings import Settings

    settings = Settings(port=0)
    server = uvicorn.Server(uvicorn_config(create_app(settings), "127.0.0.1", 0, settings.max_message_bytes,
                                           "warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, thread, f"http://127.0.0.1:{port}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=150)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    server, thread, base = start_server()
    results = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.route(base + "/bench.html", lambda r: r.fulfill(status=200, content_type="text/html",
                                                                 body=BENCH_PAGE))
            page.goto(base + "/bench.html")
            version = browser.version
            for case in CASES:
                runs = [page.evaluate(BENCH_JS, {**case, "frames": args.frames, "variants": 8})
                        for _ in range(args.repeat)]
                runs.sort(key=lambda r: r["render_only_per_s"], reverse=True)
                results.append({"case": case["name"], "best": runs[0], "median": runs[len(runs) // 2]})
            browser.close()
    finally:
        server.should_exit = True
        thread.join(10)
    if args.json:
        print(json.dumps({"chromium": version, "machine": platform.machine(), "results": results}, indent=2))
        return 0
    print(f"chromium {version} (headless, software rendering), {platform.machine()}, "
          f"{args.frames} frames x {args.repeat} runs, load average {os.getloadavg()[0]:.1f}")
    print(f"{'case':31} {'run':6} {'render/s':>8} {'decode+render/s':>15} {'render p50':>10} {'p95':>7} "
          f"{'decode p50':>10} {'bytes':>6}")
    for res in results:
        for which in ("best", "median"):
            r = res[which]
            print(f"{res['case']:31} {which:6} {r['render_only_per_s']:8.1f} {r['renders_per_s']:15.1f} "
                  f"{r['render_ms_p50']:8.1f}ms {r['render_ms_p95']:5.1f}ms {r['decode_ms_p50']:8.2f}ms "
                  f"{r['deflated_bytes']:6d}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
