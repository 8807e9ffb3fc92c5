"""The "Memory pressure" panel (static/js/pressure.js) in Debian's chromium against the real server."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

pytestmark = pytest.mark.browser

OpenPage = Callable[..., Any]
KILL_LINE = "Out of memory: Killed process 1 (postgres)"


def test_oom_kill_shows_the_victim_in_the_panel_and_the_log(open_page: OpenPage) -> None:
    w = open_page("/?preset=oom-score-adj")
    page = w.page
    page.wait_for_selector("#pressure-panel", state="visible", timeout=30_000)
    # before the kill: the database is alive and is the one the OOM killer would pick
    page.fill("#seek-tick", "240")
    page.press("#seek-tick", "Enter")
    w.wait_for(lambda s: s.get("tick") == 240 and s.get("progress") is None, what="tick 240")
    page.wait_for_selector('#pressure-panel[data-tick="240"]', timeout=30_000)
    pick = page.locator("#pressure-procs tr.pz-pick")
    assert pick.count() == 1 and pick.get_attribute("data-pid") == "1"
    assert "OOM pick" in pick.inner_text() and "postgres" in pick.inner_text()
    # play through the kill (tick 245) and the OOM reaper (500 ms later)
    page.click("#btn-play")
    w.wait_for(lambda s: s.get("tick", 0) >= 300, timeout=90, what="tick 300")
    page.click("#btn-play")
    victim = page.locator('#pressure-procs tr[data-pid="1"][data-state="killed"]')
    victim.wait_for(timeout=30_000)
    assert "killed" in victim.inner_text()
    assert "postgres (pid 1)" in page.inner_text("#pressure-kill")
    assert page.locator("#pressure-procs tr.pz-pick").get_attribute("data-pid") != "1"
    chip = page.locator('#pressure-levels .pz-chip', has_text="OOM killer")
    assert chip.count() == 1 and chip.get_attribute("data-level") in ("warn", "crit")
    # the event log: the kernel's line for the kill, and the task's exit with reason oom_kill
    page.locator("#event-log li", has_text=KILL_LINE).first.wait_for(timeout=30_000)
    assert page.locator("#event-log li", has_text="reason=oom_kill").count() >= 1
    assert page.locator("#chart-pressure .legend").count() == 1
    assert "OOM kill" in (page.locator("#chart-pressure .legend").text_content() or "")
    assert not w.foreign_requests(), w.foreign_requests()
    assert not w.page_errors and not w.console_errors, (w.page_errors, w.console_errors)


def test_panel_hidden_without_pressure(open_page: OpenPage) -> None:
    w = open_page("/")
    w.page.wait_for_selector("#chart-compact .legend", timeout=30_000)  # metrics have arrived
    assert w.page.locator("#pressure-panel").is_hidden()
    assert not w.page_errors and not w.console_errors, (w.page_errors, w.console_errors)


def test_one_oom_score_adj_value_flips_the_victim(open_page: OpenPage) -> None:
    """The panel's own control: oom_score_adj -500 for the database makes the batch job the victim."""
    w = open_page("/?preset=oom-score-adj")
    page = w.page
    page.wait_for_selector("#pressure-panel", state="visible", timeout=30_000)
    page.click("#btn-step")  # the processes start at the end of tick 1
    page.locator('#pressure-comm option[value="postgres"]').wait_for(state="attached", timeout=30_000)
    page.select_option("#pressure-comm", "postgres")
    page.fill("#pressure-adj", "-500")
    page.click("#pressure-form button[type=submit]")
    page.locator("#pressure-procs tr[data-pid='1'] td:nth-child(6)", has_text="-500").wait_for(timeout=30_000)
    page.fill("#seek-tick", "300")
    page.press("#seek-tick", "Enter")
    w.wait_for(lambda s: s.get("tick") == 300 and s.get("progress") is None, timeout=90, what="tick 300")
    page.locator('#pressure-procs tr[data-pid="3"][data-state="killed"]').wait_for(timeout=30_000)
    assert page.locator('#pressure-procs tr[data-pid="1"]').get_attribute("data-state") == "alive"
    assert "batch (pid 3)" in page.inner_text("#pressure-kill")
    assert not w.page_errors and not w.console_errors, (w.page_errors, w.console_errors)
