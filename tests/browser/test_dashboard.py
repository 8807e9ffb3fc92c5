"""The dashboard page in Debian's chromium against the real server (see conftest.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

Watched = Any  # conftest.Watched
OpenPage = Callable[..., Any]
CHARTS = ("#map", "#chart-freearea", "#chart-free", "#chart-compact")

# A small zone, half of it freed in a checkerboard: compaction has work on every pageblock and the
# scanners cross the zone in a few dozen steps.
CHECKERBOARD: dict[str, Any] = {
    "name": "checkerboard",
    "title": "8192 pages, every other page freed",
    "seed": 7,
    "ticks": 2,
    "node": {"zones": [{"name": "Normal", "pages": 8192}]},
    "workload": {"events_per_tick": 0, "streams": []},
    "timeline": [
        {"at": 0, "action": {"type": "fill", "group": "chunks", "fraction": 0.95, "class": "anon"}},
        {"at": 1, "action": {"type": "free_every_other", "group": "chunks"}},
    ],
    "at_tick": 1,
}


def click_and_wait(w: Watched, selector: str, what: str) -> dict[str, Any]:
    seq = w.state()["renderedSeq"]
    w.page.click(selector)
    st: dict[str, Any] = w.wait_rendered_after(seq, what=what)
    return st


def test_page_loads_offline_with_a_legend_on_every_chart(open_page: OpenPage) -> None:
    w = open_page("/")
    st = w.wait_for(lambda s: s.get("connected") and s.get("renders", 0) >= 1, what="a rendered frame")
    assert st["lens"] == "migratetype" and st["rows"] > 0 and st["cols"] > 0
    assert st["nrPages"] > 0 and st["sharePath"].startswith("/s/z1.")
    # the charts are drawn once the first metrics arrived; each shows a legend (the map: an HTML
    # colour key naming every class of the lens, plus the cursor and skip marks)
    w.page.wait_for_selector("#chart-compact .legend", timeout=30_000)
    for sel in CHARTS[1:]:
        assert w.page.locator(f"{sel} .legend").count() == 1, sel
    key = w.page.inner_text("#map-legend")
    for name in ("Unmovable", "Movable", "Reclaimable", "HighAtomic", "Isolate", "migration scanner",
                 "free scanner", "skipped"):
        assert name in key, (name, key)
    assert w.page.locator("#map-legend .swatch").count() == 5
    assert w.page.locator("#chart-freearea .legend").text_content().count("Movable") == 1
    assert w.page.evaluate("() => typeof Plotly") == "object"  # served from the plotly package
    # the time series download as CSV (kept in the page)
    with w.page.expect_download() as dl:
        w.page.click("#btn-csv")
    path = dl.value.path()
    assert path is not None
    csv = Path(path).read_text().splitlines()
    assert csv[0] == "# zone Normal" and csv[1].startswith("tick,free_pages,watermark_min")
    # every tick from 0 (the preset opens at its view.open_at, fast-forwarded) to the one on screen
    assert len(csv) >= 3 and csv[2].split(",")[0] == "0" and csv[-1].split(",")[0] == str(st["tick"])
    assert not w.foreign_requests(), w.foreign_requests()
    assert any(u.endswith("/static/vendor/plotly.min.js") for u in w.requests)
    assert not w.page_errors and not w.console_errors, (w.page_errors, w.console_errors)


def test_play_changes_the_map_and_the_keyboard_drives_it(open_page: OpenPage) -> None:
    w = open_page("/")
    w.page.keyboard.press("2")  # the free-pages lens: it changes with every allocation
    st = w.wait_for(lambda s: s.get("lens") == "free", what="the free lens")
    assert not st["playing"]  # a new session starts paused
    w.page.keyboard.press("Space")
    first = w.wait_for(lambda s: s.get("playing") and s["tick"] >= st["tick"] + 2, what="playing")
    later = w.wait_for(lambda s: s["frameTick"] >= first["frameTick"] + 3, what="later frames")
    assert later["cellsHash"] != first["cellsHash"], "the map did not change while playing"
    assert w.page.get_attribute("#btn-play", "aria-pressed") == "true"

    w.page.keyboard.press("Space")
    paused = w.wait_for(lambda s: not s.get("playing"), what="pause")
    time.sleep(0.2)
    paused = w.state()
    time.sleep(0.4)
    assert w.state()["frameTick"] == paused["frameTick"], "frames kept coming after pause"
    paused["tick"] = paused["frameTick"]

    w.page.keyboard.press("ArrowRight")
    stepped = w.wait_for(lambda s: s.get("frameTick") == paused["tick"] + 1, what="step one tick")
    assert not stepped["playing"]
    w.page.click("#btn-step")
    w.wait_for(lambda s: s.get("frameTick") == paused["tick"] + 2, what="the step button")
    w.page.keyboard.press("ArrowLeft")
    w.wait_for(lambda s: s.get("frameTick") == paused["tick"] + 1, what="step back")

    # zoom into 32768 pages: one cell per page from the first pfn asked for
    w.page.fill("#zoom-start", "65536")
    w.page.fill("#zoom-end", "98304")
    w.page.click("#zoom-form button[type=submit]")
    z = w.wait_for(lambda s: s.get("unit") == 1, what="a per-page view")
    assert z["firstPfn"] == 65536 and z["rows"] * z["cols"] >= 32768
    w.page.click("#zoom-reset")
    w.wait_for(lambda s: s.get("unit") == 0 and s.get("firstPfn") == 0, what="the whole node")

    # an event in the log is a link to its tick (a seek backwards: rebuild and replay)
    link = w.page.locator("#event-log button.tick-link").last
    target = int(link.get_attribute("data-tick") or "-1")
    assert 0 <= target <= paused["tick"]
    link.click()
    w.wait_for(lambda s: s.get("frameTick") == target, what=f"the event's tick {target}")

    for key, lens, name in (("1", "migratetype", "Movable"), ("5", "skip", "skip bit"),
                            ("6", "page_kind", "pagetable")):
        w.page.keyboard.press(key)
        w.wait_for(lambda s, lens=lens: s.get("lens") == lens, what=f"lens {lens}")
        assert w.page.input_value("#lens-select") == lens
        assert name in w.page.inner_text("#map-legend")

    assert w.page.is_hidden("#help")
    w.page.keyboard.press("?")
    assert w.page.is_visible("#help")
    assert "compact now" in w.page.inner_text("#help")
    w.page.keyboard.press("Escape")
    assert w.page.is_hidden("#help")
    w.page.click("#help-button")
    assert w.page.is_visible("#help")
    w.page.click("#help-close")
    assert w.page.is_hidden("#help")
    assert not w.page_errors and not w.console_errors, (w.page_errors, w.console_errors)


def test_compaction_steps_move_the_cursors_until_they_meet(open_page: OpenPage, live_server: Any) -> None:
    link = live_server.post_json("/api/link", CHECKERBOARD)
    w = open_page(link["path"])
    st = w.wait_for(lambda s: s.get("tick") == 1, what="the link's tick")
    assert st["error"] is None, st["error"]
    # The pageblocks of the map cells the page draws the two cursors in. The free scanner scans each
    # pageblock upwards but takes the pageblocks downwards, so its pageblock only descends.
    seen: list[tuple[int, int]] = []
    for step in range(200):
        st = click_and_wait(w, "#btn-step-compact", "a compaction step")
        cursors = [c for c in st["cursors"] if c["active"]]
        if not cursors:
            assert seen or step < 5, "no compaction run shows on the map after 5 compaction steps"
            if seen:
                break
            continue
        c = cursors[0]
        assert c["migrate_cell"] is not None and c["free_cell"] is not None, c
        pages = 1 if st["unit"] == 1 else 512
        cell_pfn = {k: st["firstPfn"] + c[f"{k}_cell"]["idx"] * pages for k in ("migrate", "free")}
        for k in ("migrate", "free"):
            assert cell_pfn[k] <= c[f"{k}_pfn"] < cell_pfn[k] + pages, (k, c, st["firstPfn"], pages)
        seen.append((cell_pfn["migrate"] >> 9, cell_pfn["free"] >> 9))
        if seen[-1][0] >= seen[-1][1]:
            break
    assert len(seen) >= 3, f"compaction showed no running scanners: {seen}"
    migrate = [m for m, _ in seen]
    free = [f for _, f in seen]
    assert migrate == sorted(migrate), f"the migration scanner moved backwards: {seen}"
    assert free == sorted(free, reverse=True), f"the free scanner moved backwards: {seen}"
    assert migrate[-1] > migrate[0] and free[-1] < free[0], seen
    assert migrate[-1] >= free[-1], f"the scanners did not meet: {seen[-3:]}"
    assert w.page.get_attribute("#map", "data-migrate-pfn") != ""

    # hover: the cell's pfn range from the frame, then the block's type, contents and skip state from
    # the server's hover answer
    box = w.page.locator("#map .nsewdrag").bounding_box()
    assert box is not None
    w.page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.1)
    w.page.wait_for_selector("#map-tooltip", state="visible")
    deadline = time.monotonic() + 5
    while "pageblock type:" not in (tip := w.page.inner_text("#map-tooltip")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert tip.startswith("pfn 0x"), tip
    for part in ("zone Normal", "pageblock type: Movable", "pages: ", " movable", "skip"):
        assert part in tip, (part, tip)
    assert not w.page_errors and not w.console_errors, (w.page_errors, w.console_errors)


def test_copied_link_reopens_the_same_frame(open_page: OpenPage) -> None:
    a = open_page("/", permissions=["clipboard-read", "clipboard-write"])
    t0 = a.state()["frameTick"]  # where the preset opens
    a.page.keyboard.press("ArrowRight")
    a.wait_for(lambda s: s.get("frameTick") == t0 + 1, what="one tick on")
    a.page.fill("#alloc-order", "3")
    a.page.fill("#alloc-count", "20")
    a.page.select_option("#alloc-class", "slab_unmovable")
    a.page.click("#alloc-form button[type=submit]")  # a live action: the link must replay it
    a.wait_for(lambda s: "/s/" in (s.get("sharePath") or ""), what="a share path")
    a.page.fill("#seek-tick", str(t0 + 12))
    a.page.press("#seek-tick", "Enter")
    at = a.wait_for(lambda s: s.get("frameTick") == t0 + 12 and s.get("frameHash"), what="12 ticks on")
    a.page.click("#btn-copy")
    copied = a.wait_for(lambda s: s.get("copiedLink"), what="copy link")["copiedLink"]
    assert a.page.input_value("#share-text") == copied
    assert a.page.evaluate("() => navigator.clipboard.readText()") == copied
    assert copied.startswith(a.page.evaluate("() => location.origin") + "/s/z1.")

    b = open_page("/" + copied.split("/", 3)[3])
    got = b.wait_for(lambda s: s.get("frameTick") == t0 + 12 and s.get("frameHash"), what="the link's frame")
    assert got["frameHash"] == at["frameHash"]
    assert got["cellsHash"] == at["cellsHash"] and got["lens"] == at["lens"]
    assert not b.page_errors and not b.console_errors, (b.page_errors, b.console_errors)


def test_bad_link_shows_a_readable_error(open_page: OpenPage) -> None:
    w = open_page("/s/z1.this-is-not-a-valid-token", wait_render=False)
    w.page.wait_for_selector("#error-banner", state="visible")
    text = w.page.inner_text("#error-text")
    assert text.startswith("link:") and "token" in text, text
    assert w.state()["connected"] is False
    assert not w.page_errors, w.page_errors

    # refused by the socket (close 1008): the page shows the server's reason
    w = open_page("/?session=no-such-session", wait_render=False)
    st = w.wait_for(lambda s: s.get("closed") is not None, what="the socket to close")
    assert st["closed"]["code"] == 1008
    w.page.wait_for_selector("#error-banner", state="visible")
    assert "session: no such session" in w.page.inner_text("#error-text")
    # the controls say so too: nothing is left to drive
    for sel in ("#btn-play", "#btn-compact", "#btn-copy", "#alloc-form button"):
        assert w.page.is_disabled(sel), sel
    assert not w.page_errors, w.page_errors


def test_charts_show_the_run_so_far_after_a_seek_and_for_a_late_joiner(open_page: OpenPage) -> None:
    a = open_page("/")
    a.page.fill("#seek-tick", "30")
    a.page.press("#seek-tick", "Enter")
    a.wait_for(lambda s: s.get("frameTick") == 30, what="tick 30")
    series = "() => { const s = window.zonescope.app.charts.series; return [s.tick, s.free]; }"
    ticks, free = a.page.evaluate(series)
    assert ticks[:3] == [0, 1, 2] and ticks[-1] == 30 and None not in free, (ticks, free)
    sid = a.state()["session"]
    b = open_page(f"/?session={sid}")
    b.wait_for(lambda s: s.get("frameTick") == 30, what="the follower at tick 30")
    ticks_b, free_b = b.page.evaluate(series)
    assert ticks_b == ticks and free_b == free
    assert not b.page_errors and not b.console_errors, (b.page_errors, b.console_errors)
