"""The page's frame decoder (static/js/protocol.js) reads what the server's encoder writes."""

from __future__ import annotations

import base64
import zlib
from collections.abc import Callable
from typing import Any

import pytest

from app.encoder import View, decode, encode_cells, lens_cells
from app.lenses import LENS_NAMES as LENSES
from app.presets import load_scenario
from simcore.simulation import Simulation

pytestmark = pytest.mark.browser


# Runs in the page through CDP; the module it imports is the page's own file.
DECODE_JS = """
async ([frames, lensNames]) => {
  const { decodeFrame, fnv1a } = await import('/static/js/protocol.js');
  const out = [];
  for (const b64 of frames) {
    const raw = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const f = await decodeFrame(raw.buffer, lensNames);
    out.push({ seq: f.seq, tick: f.tick, lens: f.lens, unit: f.unit, rows: f.rows, cols: f.cols,
      firstPfn: f.firstPfn, flags: f.flags, hash: fnv1a(f.cells), n: f.cells.length,
      head: Array.from(f.cells.slice(0, 64)) });
  }
  return out;
}
"""


def fnv1a(data: bytes) -> str:
    h = 0x811C9DC5
    for b in data:
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return f"{h:08x}"


def test_the_page_decodes_every_lens_and_view_as_the_server_encoded_it(
    open_page: Callable[..., Any],
) -> None:
    sim = Simulation(load_scenario("default"))
    sim.run_until(30)
    frame = sim.frame()
    messages = []
    # whole node (pageblock cells), 32 k pages (page cells), 200 pages (too few to deflate)
    views = (View.whole(frame.nr_pages), View(65536, 65536 + 32768), View(1000, 1200))
    for i, (lens, view) in enumerate((lens, view) for view in views for lens in LENSES):
        messages.append(encode_cells(lens_cells(frame, lens, view, 131072), 100 + i, frame.tick, lens, 1.5))
    assert {m[3] & 1 for m in messages} == {0, 1}, "want both plain and deflated bodies"

    w = open_page("/s/z1.not-a-token", wait_render=False)  # the page's origin, without a session
    got = w.page.evaluate(DECODE_JS, [[base64.b64encode(m).decode() for m in messages], list(LENSES)])
    for i, (msg, page) in enumerate(zip(messages, got, strict=True)):
        header, cells = decode(msg)
        assert page["seq"] == header.seq == 100 + i
        assert page["tick"] == header.tick == 30
        assert page["lens"] == LENSES[header.lens]
        assert (page["unit"], page["rows"], page["cols"], page["firstPfn"]) == (
            header.unit, header.rows, header.cols, header.first_pfn)
        assert page["n"] == len(cells) == header.rows * header.cols
        assert page["hash"] == fnv1a(cells), (page["lens"], page["unit"])
        assert page["head"] == list(cells[:64])
    # a damaged body is reported, not rendered
    bad = messages[0][:32] + zlib.compress(b"\x01" * 10)[:-3]
    bad = bad[:3] + b"\x01" + bad[4:]
    err = w.page.evaluate(
        """async (b64) => { const { decodeFrame } = await import('/static/js/protocol.js');
           const raw = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
           try { await decodeFrame(raw.buffer); return 'decoded'; } catch (e) { return String(e); } }""",
        base64.b64encode(bad).decode())
    assert err != "decoded"
