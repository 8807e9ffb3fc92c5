"""Controls show the run's real state (issue 11, "Truthful controls"), in Debian's chromium.

* the defrag dropdown shows the policy the run uses: after a live `set`, after Reset (back to the
  scenario's), and on a link that recorded a `set`;
* skip marks on the map come back after a visit to the skip lens while paused (a frame re-sent in
  another lens keeps its seq: the page must not draw it with the other lens's metrics);
* the speed control shows the speed achieved beside the speed asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

pytestmark = pytest.mark.browser

MARKS_JS = """() => {
  const data = document.getElementById("map").data || [];
  let n = 0;
  for (const t of data) {
    const sym = t.marker && t.marker.symbol;
    if (Array.isArray(sym)) n += sym.filter((s) => s === "x-thin").length;
  }
  return n;
}"""


def _policy(w: Any) -> str:
    value: str = w.page.input_value("#policy-select")
    return value


def test_the_defrag_dropdown_shows_the_runs_policy_after_reset_and_on_a_link(
    open_page: Callable[..., Any],
) -> None:
    a = open_page("/", permissions=["clipboard-read", "clipboard-write"])
    first = _policy(a)
    other = "lumpy" if first != "lumpy" else "none"
    a.page.select_option("#policy-select", other)
    a.page.click("#policy-form button[type=submit]")
    a.wait_for(lambda s: s.get("statusFrameHash") is not None, what="a status")
    t0 = a.state()["frameTick"]  # where the preset opens
    a.page.keyboard.press("ArrowRight")  # the `set` is recorded at t0; step one tick on
    a.wait_for(lambda s: s.get("frameTick") == t0 + 1, what="one tick on")
    a.page.click("#btn-copy")
    link = a.wait_for(lambda s: s.get("copiedLink"), what="copy link")["copiedLink"]
    b = open_page("/" + link.split("/", 3)[3])
    b.wait_for(lambda s: s.get("frameTick") == t0 + 1, what="the link")
    assert _policy(b) == other
    a.page.click("#btn-reset")
    a.wait_for(lambda s: s.get("frameTick") == t0, what="the reset (to where the preset opens)")
    a.wait_for(lambda s: _policy(a) == first, what=f"the dropdown back to {first}")
    for w in (a, b):
        assert not w.page_errors and not w.console_errors, (w.page_errors, w.console_errors)


def test_skip_marks_come_back_after_the_skip_lens_while_paused(open_page: Callable[..., Any]) -> None:
    w = open_page("/")
    t0 = w.state()["frameTick"]
    w.page.keyboard.press("ArrowRight")
    w.wait_for(lambda s: s.get("frameTick") == t0 + 1, what="one tick on")
    w.page.select_option("#compact-pace", "0")  # at once, as the kernel does
    w.page.click("#btn-compact")  # manual compaction: blocks with nothing to isolate get skip bits
    w.wait_for(lambda s: any(not c["active"] for c in s.get("cursors") or [{"active": True}])
               and w.page.evaluate(MARKS_JS) > 0, what="skip marks after a manual compaction")
    marks = w.page.evaluate(MARKS_JS)
    for lens in ("skip", "migratetype"):
        seq = w.state()["renderedSeq"]
        w.page.select_option("#lens-select", lens)
        w.wait_for(lambda s, lens=lens, seq=seq: s.get("lens") == lens and s["renderedSeq"] >= seq,
                   what=f"the {lens} lens")
    w.wait_for(lambda s: w.page.evaluate(MARKS_JS) == marks, timeout=5, what="the skip marks again")
    assert not w.page_errors and not w.console_errors, (w.page_errors, w.console_errors)


def test_the_speed_control_shows_the_speed_achieved(open_page: Callable[..., Any]) -> None:
    w = open_page("/")
    w.page.click("#btn-play")
    st = w.wait_for(lambda s: (s.get("achievedTps") or 0) > 0, timeout=15, what="a measured speed")
    assert w.page.inner_text("#tps-got").startswith("(running at ")
    assert 0 < st["achievedTps"] < 2 * st["tps"] + 5
    w.page.click("#btn-play")  # pause: no speed is claimed
    w.wait_for(lambda s: s.get("achievedTps") is None, what="the pause")
    assert w.page.inner_text("#tps-got") == ""


def test_compact_now_at_the_default_pace_lets_the_scanners_travel(open_page: Callable[..., Any]) -> None:
    w = open_page("/")
    assert w.page.input_value("#compact-pace") == "1"
    w.page.keyboard.press("c")
    seen = set()
    st = w.wait_for(lambda s: any(c["active"] for c in s.get("cursors") or []), what="a running compaction")
    start = st["frameTick"]
    w.page.click("#btn-play")
    while True:
        st = w.wait_for(lambda s, seen=seen: s.get("frameTick") not in seen, timeout=20,
                        what="the next frame")
        seen.add(st["frameTick"])
        active = [c for c in st.get("cursors") or [] if c["active"]]
        if not active:
            break
    # the run took many ticks (about 130 on `default`, 4 s at 30 ticks/s), not one
    assert st["frameTick"] - start >= 60, (start, st["frameTick"])
    assert not w.page_errors and not w.console_errors, (w.page_errors, w.console_errors)
