"""A long fast-forward shows progress and Esc cancels it, in Debian's chromium (issue 11)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

pytestmark = pytest.mark.browser

#: about 2 ms a tick: a seek to 20,000 would take ~40 s
HEAVY = {"name": "heavy", "title": "a heavy mix on 64 MiB", "seed": 2,
         "node": {"zones": [{"name": "Normal", "pages": 16384}]},
         "workload": {"events_per_tick": 3000, "target_occupancy": 0.7}}


def test_esc_cancels_a_long_fast_forward_where_it_got_to(
    open_page: Callable[..., Any], live_server: Any
) -> None:
    w = open_page(live_server.post_json("/api/link", {**HEAVY, "at_tick": 0})["path"])
    w.page.fill("#seek-tick", "20000")
    w.page.press("#seek-tick", "Enter")
    w.page.wait_for_selector("#btn-cancel-seek", state="visible")
    assert "Esc cancels" in w.page.inner_text("#seek-progress-text")
    w.page.keyboard.press("Escape")
    st = w.wait_for(lambda s: s.get("progress") is None and 0 < (s.get("frameTick") or 0) < 20000,
                    timeout=10, what="the cancelled seek's frame")
    assert w.page.is_hidden("#seek-progress") and w.page.is_hidden("#btn-cancel-seek")
    assert w.page.inner_text("#seek-progress-text") == f"fast-forward cancelled at tick {st['tick']}"
    assert not w.page_errors and not w.console_errors, (w.page_errors, w.console_errors)
