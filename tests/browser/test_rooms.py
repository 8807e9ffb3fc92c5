"""A classroom in Debian's chromium: three followers stay with the presenter through a preset change
and a reload (issue 11, "Rooms"; app/rooms.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

pytestmark = pytest.mark.browser


def test_followers_follow_the_presenter_through_a_preset_change_and_a_reload(
    open_page: Callable[..., Any],
) -> None:
    teacher = open_page("/?preset=default")
    room = teacher.wait_for(lambda s: s.get("room"), what="the room")["room"]
    assert f"room={room}" in teacher.page.url
    assert teacher.page.input_value("#follow-text").endswith(f"/?room={room}")
    students = [open_page(f"/?room={room}") for _ in range(3)]
    first = teacher.state()["session"]
    for s in students:
        st = s.wait_for(lambda x: x.get("role") == "follower" and x.get("session"), what="a follower")
        assert st["session"] == first and s.page.input_value("#preset-select") == "default"

    # the presenter picks another preset: every follower moves to the new run within 2 s, told why
    teacher.page.select_option("#preset-select", "fragmented-zone")
    second = teacher.wait_for(lambda s: s.get("session") not in (None, first) and s.get("renderedSeq"),
                              what="the new run")["session"]
    t0 = time.monotonic()
    for s in students:
        s.wait_for(lambda x: x.get("session") == second and x.get("renderedSeq"), timeout=10,
                   what="the follower on the new run")
    assert time.monotonic() - t0 < 2.0 * len(students)
    for s in students:
        assert s.page.input_value("#preset-select") == "fragmented-zone"
        assert "presenter started a new run (fragmented-zone)" in s.page.inner_text("#follow-text-label")
        assert "moved=" not in s.page.url

    # the presenter reloads: the same run goes on, and the followers stay on it
    t0 = teacher.state()["frameTick"]
    teacher.page.keyboard.press("ArrowRight")
    teacher.wait_for(lambda s: s.get("frameTick") == t0 + 1, what="one tick on")
    teacher.page.reload()
    st = teacher.wait_for(lambda s: s.get("renderedSeq") and s.get("session"), what="after the reload")
    assert st["session"] == second and st["role"] == "presenter" and st["frameTick"] == t0 + 1
    for s in [teacher, *students]:
        assert s.state()["session"] == second
        assert not s.page_errors and not s.console_errors, (s.page_errors, s.console_errors)
