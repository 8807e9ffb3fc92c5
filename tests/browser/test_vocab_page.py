"""The page draws what `hello.vocab` names: every skip reason in the skip lens, every class coloured."""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from app.encoder import View, encode_cells, lens_cells
from app.lenses import LENS_NAMES
from app.presets import load_scenario
from app.vocab import vocabularies
from simcore.frame import SkipReason
from simcore.simulation import Simulation

pytestmark = pytest.mark.browser

# Renders one frame through the page's own map (the lens table it built from hello), then reads back
# the legend and the heatmap's values.
RENDER_JS = """
async (b64) => {
  const { decodeFrame, NO_CELL } = await import('/static/js/protocol.js');
  const app = window.zonescope.app;
  const raw = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const f = await decodeFrame(raw.buffer, app.conn.lensNames);
  await app.map.render(f, null);
  const z = document.getElementById('map').data[0].z;
  let nan = 0, drawn = 0;
  f.cells.forEach((v, i) => {
    if (v === NO_CELL) return;
    drawn += 1;
    if (Number.isNaN(z[Math.floor(i / f.cols)][i % f.cols])) nan += 1;
  });
  const L = app.lenses[f.lens];
  return { lens: f.lens, nan, drawn, legend: document.getElementById('map-legend').innerText,
           colors: L.colors, values: [...new Set(f.cells)] };
}
"""

MISSING_JS = """
async ([lenses, counters]) => {
  const { counterColor, missingColors, MISSING_COLOR } = await import('/static/js/palette.js');
  const counterMissing = counters.filter((c) => counterColor(c) === MISSING_COLOR).map((c) => `counter:${c}`);
  return { missing: [...missingColors(lenses), ...counterMissing], missingColor: MISSING_COLOR };
}
"""


def skip_frame_message() -> bytes:
    """The skip lens of a frame whose pageblocks carry every skip reason (and the bare skip bit)."""
    sim = Simulation(load_scenario("default"))
    sim.run_until(2)
    f = sim.frame()
    n = f.pb_skip_reason.size
    codes = np.array([int(r) for r in SkipReason], dtype=np.uint8)
    reasons = np.resize(codes, n).astype(f.pb_skip_reason.dtype)
    skip = np.zeros_like(f.pb_skip)
    skip[: n // 2] = 1
    frame = dataclasses.replace(f, pb_skip_reason=reasons, pb_skip=skip)
    cells = lens_cells(frame, "skip", View.whole(frame.nr_pages), 512)
    return encode_cells(cells, 1, frame.tick, "skip", 0.0)


def test_the_skip_lens_shows_every_skip_reason_with_a_legend_entry_and_a_colour(
    open_page: Callable[..., Any],
) -> None:
    w = open_page("/")
    got = w.page.evaluate(RENDER_JS, base64.b64encode(skip_frame_message()).decode())
    assert got["lens"] == "skip"
    assert got["drawn"] > 0 and got["nan"] == 0, got  # every drawn cell has a class
    assert len(got["values"]) >= len(SkipReason) + 1  # no skip, the bare bit, and every reason
    for reason in SkipReason:
        if reason != SkipReason.NONE:
            assert reason.label in got["legend"], (reason, got["legend"])
    missing = w.page.evaluate(MISSING_JS, [[], []])["missingColor"]
    assert missing not in got["colors"]


def test_every_class_of_every_lens_and_every_chart_counter_has_a_palette_colour(
    open_page: Callable[..., Any],
) -> None:
    w = open_page("/s/z1.not-a-token", wait_render=False)  # the page's origin, without a session
    vocab = vocabularies()
    assert [lens["name"] for lens in vocab["lenses"]] == list(LENS_NAMES)
    assert w.page.evaluate(MISSING_JS, [vocab["lenses"], vocab["chart_counters"]])["missing"] == []


def test_the_selects_and_lens_keys_come_from_hello(open_page: Callable[..., Any]) -> None:
    w = open_page("/")
    vocab = vocabularies()

    def options(sel: str) -> list[str]:
        values: list[str] = w.page.eval_on_selector_all(f"{sel} option", "els => els.map(e => e.value)")
        return values

    assert options("#lens-select") == list(LENS_NAMES)
    assert options("#proc-select") == [f["name"] for f in vocab["proc_files"]]
    assert options("#policy-select") == [p["name"] for p in vocab["defrag_policies"]]
    assert options("#alloc-class") == [c["name"] for c in vocab["alloc_classes"]]
    assert w.page.input_value("#alloc-class") == vocab["alloc_class_default"]
    last = vocab["lenses"][-1]
    w.page.keyboard.press(last["key"])
    w.wait_for(lambda s: s.get("lens") == last["name"], what=f"lens key {last['key']}")
    assert last["label"] in w.page.inner_text("#help-lens-names")


def test_before_hello_the_page_has_no_lens_no_option_and_draws_nothing(open_page: Callable[..., Any]) -> None:
    w = open_page("/s/z1.not-a-token", wait_render=False)  # a bad link: no session, so no hello
    w.page.wait_for_function("() => window.zonescope && window.zonescope.app")
    w.page.keyboard.press("1")  # a lens key before hello selects nothing
    got = w.page.evaluate("""() => ({
      lenses: Object.keys(window.zonescope.app.lenses), keys: Object.keys(window.zonescope.app.lensKeys),
      options: document.querySelectorAll('select#lens-select option, select#proc-select option,'
        + ' select#policy-select option, select#alloc-class option').length,
      drawn: (document.getElementById('map').data || []).length,
      renders: window.zonescope.state.renders, lens: window.zonescope.state.lens })""")
    assert got == {"lenses": [], "keys": [], "options": 0, "drawn": 0, "renders": 0, "lens": None}, got
    assert w.page_errors == []


def test_the_compaction_chart_plots_the_counters_hello_names(open_page: Callable[..., Any]) -> None:
    w = open_page("/")
    counters = vocabularies()["chart_counters"]
    w.page.wait_for_function("() => (document.getElementById('chart-compact').data || []).length > 0")
    names = w.page.evaluate("() => document.getElementById('chart-compact').data.map((t) => t.name)")
    assert names[: len(counters)] == counters
