"""Keyboard operation of the speed sliders: a focused slider keeps its arrow keys."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

pytestmark = pytest.mark.browser

OpenPage = Callable[..., Any]


def test_arrow_keys_move_a_focused_slider_and_do_not_step(open_page: OpenPage) -> None:
    w = open_page("/")
    start = w.state()
    w.page.focus("#tps")
    before = int(w.page.input_value("#tps"))
    for _ in range(3):
        w.page.keyboard.press("ArrowRight")
    assert int(w.page.input_value("#tps")) > before
    w.wait_for(lambda s: s.get("tps") is not None and s["tps"] > start["tps"], what="the new speed")
    time.sleep(0.4)
    assert w.state()["frameTick"] == start["frameTick"], "an arrow key on the slider stepped the run"
    # away from the slider the arrow keys step again
    w.page.focus("#btn-step")
    w.page.keyboard.press("ArrowRight")
    w.wait_for(lambda s: s.get("frameTick") == start["frameTick"] + 1, what="a step")
    assert not w.page_errors and not w.console_errors, (w.page_errors, w.console_errors)
