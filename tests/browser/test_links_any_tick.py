"""Detach and copied links at a tick past the fast-forward cap open from the server's shared
keyframes, in Debian's chromium against a real uvicorn (issue 11, "Any tick, any time").

This module's server allows 150 ticks of the scenario's work per seek or link, so a follower at
tick 420 could only Detach if the server replayed from a keyframe some run here has reached.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from conftest import LiveServer, serve

pytestmark = pytest.mark.browser

SMALL = {"name": "small", "title": "8192 pages, a light mix", "seed": 3,
         "node": {"zones": [{"name": "Normal", "pages": 8192}]},
         "workload": {"events_per_tick": 100, "target_occupancy": 0.7}}
CAP = 150 * 100


@pytest.fixture(scope="module")
def live_server() -> Iterator[LiveServer]:
    from app.settings import Settings

    yield from serve(Settings(port=0, max_ff_work=CAP, keyframe_every=10, session_linger_s=2.0))


def _seek(w: Any, tick: int) -> dict[str, Any]:
    w.page.fill("#seek-tick", str(tick))
    w.page.press("#seek-tick", "Enter")
    st: dict[str, Any] = w.wait_for(lambda s: s.get("frameTick") == tick and s.get("frameHash"),
                                    what=f"tick {tick}")
    return st


def test_detach_and_a_copied_link_past_the_cap_open_the_same_frame(
    open_page: Callable[..., Any], live_server: LiveServer
) -> None:
    path = live_server.post_json("/api/link", {**SMALL, "at_tick": 0})["path"]
    teacher = open_page(path, permissions=["clipboard-read", "clipboard-write"])
    for t in (140, 280, 420):  # each seek within the cap; 420 ticks from 0 would not be
        at = _seek(teacher, t)
    student = open_page(f"/?session={teacher.state()['session']}")
    student.wait_for(lambda s: s.get("frameTick") == 420, what="the follower at 420")
    student.page.click("#btn-detach")
    got = student.wait_for(lambda s: s.get("role") == "presenter" and s.get("frameTick") == 420
                           and s.get("frameHash"), what="the detached run at 420")
    assert got["frameHash"] == at["frameHash"]
    assert "rejoin=" in student.page.url and "/s/" in student.page.url

    teacher.page.click("#btn-copy")
    copied = teacher.wait_for(lambda s: s.get("copiedLink"), what="copy link")["copiedLink"]
    assert teacher.page.inner_text("#copy-status") == "copied (tick 420)"
    other = open_page("/" + copied.split("/", 3)[3])
    got = other.wait_for(lambda s: s.get("frameTick") == 420 and s.get("frameHash"), what="the link")
    assert got["frameHash"] == at["frameHash"]
    for w in (teacher, student, other):
        assert not w.page_errors and not w.console_errors, (w.page_errors, w.console_errors)
