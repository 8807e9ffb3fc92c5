"""Rooms (app/rooms.py): a classroom's id outlives the presenter's preset changes and reloads
(issue 11, "Rooms")."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.websockets import WebSocketDisconnect
from test_app_ws import connect, recv, until

from app.main import create_app
from app.settings import Settings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def status_where(ws: object, pred: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The first status message for which `pred` holds (a preset's opening seek sends one too)."""
    for _ in range(20):
        m, _ = until(ws, "status", limit=500)
        if pred(m):
            return m
    raise AssertionError("no such status")


@pytest.fixture()
def client() -> Iterator[TestClient]:
    with TestClient(create_app(Settings())) as c:
        yield c


def test_the_presenter_gets_the_room_and_followers_join_it_by_id(client: TestClient) -> None:
    with connect(client, "preset=default") as teacher:
        hello, _ = until(teacher, "hello")
        room = hello["room"]
        assert hello["role"] == "presenter" and len(room["key"]) >= 16 and room["id"] != room["key"]
        with connect(client, f"room={room['id']}") as student:
            joined, _ = until(student, "hello")
    assert joined["role"] == "follower" and joined["session"] == hello["session"]
    assert "room" not in joined  # the key never reaches a follower


def test_a_preset_change_moves_the_followers_to_the_new_run(client: TestClient) -> None:
    with connect(client, "preset=default") as teacher:
        hello, _ = until(teacher, "hello")
        room = hello["room"]
        with connect(client, f"room={room['id']}") as student:
            until(student, "hello")
            query = f"preset=fragmented-zone&room={room['id']}&key={room['key']}"
            with connect(client, query) as teacher2:
                hello2, _ = until(teacher2, "hello")
                moved, _ = until(student, "moved")
                with connect(client, f"room={room['id']}") as student2:
                    joined, _ = until(student2, "hello")
    assert hello2["session"] != hello["session"] and hello2["room"] == room
    assert moved == {"type": "moved", "room": room["id"], "session": hello2["session"],
                     "preset": "fragmented-zone"}
    assert joined["session"] == hello2["session"] and joined["preset"] == "fragmented-zone"


def test_a_presenter_reload_keeps_the_run(client: TestClient) -> None:
    with connect(client, "preset=default") as teacher:
        hello, _ = until(teacher, "hello")
        room = hello["room"]
        teacher.send_json({"type": "seek", "tick": 7})
        status_where(teacher, lambda m: m["tick"] == 7)
    # the same page again (same preset, room and key): the same session, at tick 7, still presenting
    with connect(client, f"preset=default&room={room['id']}&key={room['key']}") as again:
        back, _ = until(again, "hello")
    assert back["session"] == hello["session"] and back["role"] == "presenter" and back["tick"] == 7


def test_a_wrong_key_or_a_follower_with_a_preset_is_refused(client: TestClient) -> None:
    with connect(client, "preset=default") as teacher:
        room = until(teacher, "hello")[0]["room"]
        for query, reason in (
            (f"preset=default&room={room['id']}&key=not-the-key", "room: the key does not match"),
            (f"preset=default&room={room['id']}", "query: a follower gives room alone"),
            ("room=no-such-room", "room: no such room"),
            ("room=bad%20id", "room: 4 to 64 letters"),
        ):
            with connect(client, query) as ws:
                err = recv(ws)
                assert isinstance(err, dict) and err["type"] == "error"
                assert err["message"].startswith(reason), (query, err)
                with pytest.raises(WebSocketDisconnect) as closed:
                    recv(ws)
                assert closed.value.code == 1008


def test_a_room_unknown_to_a_restarted_server_is_made_again_with_its_key(client: TestClient) -> None:
    with connect(client, "preset=default&room=class-7b&key=k" + "x" * 20) as teacher:
        hello, _ = until(teacher, "hello")
        with connect(client, "room=class-7b") as student:
            joined, _ = until(student, "hello")
    assert hello["room"] == {"id": "class-7b", "key": "k" + "x" * 20}
    assert joined["session"] == hello["session"]


def test_a_run_whose_presenter_left_pauses_after_the_linger() -> None:
    with TestClient(create_app(Settings(session_linger_s=0.3))) as c, connect(c, "preset=default") as teacher:
        room = until(teacher, "hello")[0]["room"]
        with connect(c, f"room={room['id']}") as student:
            until(student, "hello")
            teacher.send_json({"type": "play"})
            status_where(student, lambda m: m["playing"] is True)
            teacher.close()
            paused, _ = until(student, "status", limit=2000)
    assert paused["playing"] is False


def test_a_presenter_back_within_the_linger_keeps_the_run_playing() -> None:
    with TestClient(create_app(Settings(session_linger_s=0.5))) as c, connect(c, "preset=default") as teacher:
        hello = until(teacher, "hello")[0]
        room = hello["room"]
        with connect(c, f"room={room['id']}") as student:
            until(student, "hello")
            teacher.send_json({"type": "play"})
            status_where(student, lambda m: m["playing"] is True)
            teacher.close()
            with connect(c, f"preset=default&room={room['id']}&key={room['key']}") as back:
                until(back, "hello")
                time.sleep(0.8)
                assert c.app.state.hub.sessions[hello["session"]].playing is True  # type: ignore[attr-defined]
