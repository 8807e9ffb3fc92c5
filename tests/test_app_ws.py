"""The /ws protocol through Starlette's TestClient: hello + frame, controls, validation, refusals, links."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.websockets import WebSocketDisconnect

from app.cli.common import run_hashed
from app.encoder import UNIT_PAGE, UNIT_PAGEBLOCK, Header, decode
from app.lenses import LENS_ID
from app.main import create_app
from app.settings import Settings
from simcore.link import decode_link, make_token
from simcore.scenario import validate_scenario
from simcore.simulation import Simulation

with warnings.catch_warnings():  # starlette asks for httpx2; the test client works the same with httpx
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

TINY = {"name": "tiny", "seed": 5, "node": {"zones": [{"name": "DMA32", "pages": 4096},
                                                      {"name": "Normal", "pages": 12288}]},
        "workload": {"events_per_tick": 120, "target_occupancy": 0.7}}
TOKEN0 = make_token(validate_scenario(TINY), 0)
ORIGIN = {"origin": "http://testserver"}


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(Settings(max_ff_work=5_000_000, per_page_max_pages=8192))) as c:
        yield c


Msg = dict[str, Any] | tuple[Header, bytes]


def recv(ws: Any) -> Msg:
    """The next message; binary frames are decoded and acked at once, as the page does after rendering."""
    m = ws.receive()
    if m.get("bytes") is not None:
        header, cells = decode(m["bytes"])
        ws.send_json({"type": "ack", "seq": header.seq})
        return header, cells
    if m["type"] == "websocket.close":
        raise WebSocketDisconnect(m.get("code", 1000), m.get("reason", ""))
    doc: dict[str, Any] = json.loads(m["text"])
    return doc


def until(ws: Any, kind: str, limit: int = 50) -> tuple[dict[str, Any], list[Msg]]:
    """Read until a JSON message of `kind`; returns it and everything read before it."""
    seen: list[Msg] = []
    for _ in range(limit):
        m = recv(ws)
        if isinstance(m, dict) and m["type"] == kind:
            return m, seen
        seen.append(m)
    raise AssertionError(f"no {kind} message in {limit}")


def frame_pair(ws: Any) -> tuple[Header, bytes, dict[str, Any]]:
    """The next binary frame and the metrics right after it (skipping other JSON)."""
    for _ in range(50):
        m = recv(ws)
        if isinstance(m, tuple):
            metrics = recv(ws)
            assert isinstance(metrics, dict) and metrics["type"] == "metrics"
            return m[0], m[1], metrics
    raise AssertionError("no frame")


def connect(client: TestClient, query: str) -> Any:
    return client.websocket_connect(f"/ws?{query}", headers=ORIGIN)


def test_hello_then_the_current_frame_paused(client: TestClient) -> None:
    with connect(client, "preset=default") as ws:
        hello = recv(ws)
        assert isinstance(hello, dict) and hello["type"] == "hello"
        assert hello["protocol"] == 1 and hello["preset"] == "default" and hello["playing"] is False
        assert hello["nr_pages"] == 262144 and hello["zones"][0]["name"] == "Normal"
        assert hello["lenses"] == list(LENS_ID) and hello["share_path"].startswith("/s/z1.")
        assert {"name", "title"} <= set(hello["presets"][0]) and hello["role"] == "presenter"
        # the preset opens where its story is visible (scenario view.open_at), fast-forwarded
        scenario = validate_scenario(hello["scenario"])
        opening = scenario.view.open_at
        assert opening > 0 and hello["tick"] == opening and hello["view"]["lens"] == "migratetype"
        header, cells, metrics = frame_pair(ws)
        assert header.seq == metrics["seq"] == 1 and header.tick == metrics["tick"] == opening
        assert header.unit == UNIT_PAGEBLOCK and (header.rows, header.cols) == (16, 32)
        assert len(cells) == 512 and header.lens == LENS_ID["migratetype"]
        assert metrics["skipped"] == []
        assert metrics["frame_hash"] == run_hashed(Simulation(scenario), opening)


def test_step_speed_lens_view_proc_hover(client: TestClient) -> None:
    with connect(client, f"link={TOKEN0}") as ws:
        until(ws, "hello")
        frame_pair(ws)
        ws.send_json({"type": "step"})
        status, _ = until(ws, "status")
        assert status["tick"] == 1 and status["playing"] is False
        h, _, m = frame_pair(ws)
        assert h.tick == 1 and m["frame_hash"] == status["frame_hash"]
        ws.send_json({"type": "speed", "tps": 12.5, "ticks_per_frame": 3})
        status, _ = until(ws, "status")
        assert (status["tps"], status["ticks_per_frame"]) == (12.5, 3)
        ws.send_json({"type": "lens", "lens": "free"})
        h, _, m = frame_pair(ws)
        assert h.lens == LENS_ID["free"] and m["lens"] == "free" and h.seq == 2  # same frame, new form
        ws.send_json({"type": "view", "start_pfn": 4096, "end_pfn": 8192})
        h, cells, m = frame_pair(ws)
        assert h.unit == UNIT_PAGE and h.first_pfn == 4096 and len(cells) >= 4096 and m["unit"] == UNIT_PAGE
        ws.send_json({"type": "proc", "file": "buddyinfo"})
        proc, _ = until(ws, "proc")
        assert proc["file"] == "buddyinfo" and proc["text"].startswith("Node 0, zone    DMA32")
        ws.send_json({"type": "hover", "pfn": 5000})
        hover, _ = until(ws, "hover")
        assert (hover["start_pfn"], hover["zone"]) == (4608, "Normal")


def test_step_compaction_and_actions_are_recorded_in_the_link(client: TestClient) -> None:
    with connect(client, f"link={TOKEN0}") as ws:
        until(ws, "hello")
        ws.send_json({"type": "step"})
        until(ws, "status")
        ws.send_json({"type": "action", "action": {"type": "alloc", "order": 9, "count": 2, "class": "huge"}})
        status, _ = until(ws, "status")
        ws.send_json({"type": "step", "unit": "compaction"})
        status, _ = until(ws, "status")
        token = status["share_path"].removeprefix("/s/")
        scenario, at = decode_link(token)
        assert at == 1 and [e.action.type for e in scenario.timeline] == ["alloc", "compact"]
        assert run_hashed(Simulation(scenario), at) == status["frame_hash"]
        _, _, m = frame_pair(ws)
        names = {e["name"] for e in m["events"]}
        assert "action" in names


def test_link_fast_forward_reaches_the_same_frame_hash(client: TestClient) -> None:
    token = make_token(validate_scenario(TINY), 25)
    expected = run_hashed(Simulation(validate_scenario(TINY)), 25)
    with connect(client, f"link={token}") as ws:
        hello = recv(ws)
        assert isinstance(hello, dict) and hello["type"] == "hello" and hello["tick"] == 25
        status, _ = until(ws, "status")
        assert status["tick"] == 25 and status["frame_hash"] == expected and status["playing"] is False
        h, _, m = frame_pair(ws)
        assert h.tick == 25 and m["frame_hash"] == expected


def test_seek_forward_and_back_with_progress(client: TestClient) -> None:
    with connect(client, f"link={TOKEN0}") as ws:
        until(ws, "hello")
        ws.send_json({"type": "seek", "tick": 20})
        status, _ = until(ws, "status")
        at_20 = status["frame_hash"]
        ws.send_json({"type": "seek", "tick": 6})
        status, _ = until(ws, "status")
        assert status["tick"] == 6
        assert status["frame_hash"] == run_hashed(Simulation(validate_scenario(TINY)), 6)
        ws.send_json({"type": "seek", "tick": 20})
        status, _ = until(ws, "status")
        assert status["frame_hash"] == at_20
        ws.send_json({"type": "reset"})
        status, _ = until(ws, "status")
        assert status["tick"] == 0
        ws.send_json({"type": "seek", "tick": 10**6})  # over the server's fast-forward cap
        err, _ = until(ws, "error")
        assert "cap" in err["message"]


def test_seek_back_from_keyframes_and_a_live_action_after_it(client: TestClient) -> None:
    alloc = {"type": "action", "action": {"type": "alloc", "order": 6, "count": 3, "class": "anon"}}
    with connect(client, f"link={TOKEN0}") as ws:
        until(ws, "hello")
        ws.send_json({"type": "seek", "tick": 8})
        until(ws, "status")
        ws.send_json(alloc)  # recorded at tick 8
        until(ws, "status")
        ws.send_json({"type": "seek", "tick": 34})
        until(ws, "status")
        ws.send_json({"type": "seek", "tick": 13})  # from the keyframe of tick 10
        status, _ = until(ws, "status")
        scenario, at = decode_link(status["share_path"].removeprefix("/s/"))
        assert at == 13 and [e.at for e in scenario.timeline] == [8]
        assert status["frame_hash"] == run_hashed(Simulation(scenario), 13)
        ws.send_json(alloc)  # a live action after the backward seek, at tick 13
        status, _ = until(ws, "status")
        after = status["frame_hash"]
        scenario, at = decode_link(status["share_path"].removeprefix("/s/"))
        assert at == 13 and [e.at for e in scenario.timeline] == [8, 13]
        assert run_hashed(Simulation(scenario), 13) == after
        ws.send_json({"type": "seek", "tick": 12})  # the step back, then forward again
        until(ws, "status")
        ws.send_json({"type": "seek", "tick": 13})
        status, _ = until(ws, "status")
        assert status["frame_hash"] == after


def test_play_streams_frames_then_pause(client: TestClient) -> None:
    with connect(client, f"link={TOKEN0}") as ws:
        until(ws, "hello")
        ws.send_json({"type": "speed", "tps": 60, "ticks_per_frame": 1})
        ws.send_json({"type": "play"})
        seqs = []
        for _ in range(6):
            h, _, m = frame_pair(ws)
            assert m["seq"] == h.seq
            seqs.append(h.seq)
        assert seqs == sorted(seqs) and seqs[-1] > seqs[0]
        ws.send_json({"type": "pause"})
        status, _ = until(ws, "status", limit=200)
        assert status["playing"] is False


def test_bad_messages_get_an_error_and_the_socket_stays_open(client: TestClient) -> None:
    with connect(client, f"link={TOKEN0}") as ws:
        until(ws, "hello")
        for bad, needle in [
            ({"type": "speed", "tps": 1000}, "tps"),
            ({"type": "nope"}, "nope"),
            ({"type": "lens", "lens": "colour"}, "lens"),
            ({"type": "action", "action": {"type": "alloc", "order": 11}}, "order"),
            ({"type": "action", "action": {"type": "set", "key": "workload.target_occupancy", "value": 3}},
             "target_occupancy"),
            ({"type": "view", "start_pfn": 10, "end_pfn": 5}, "end_pfn"),
            ({"type": "hover", "pfn": 10**9}, "pfn"),
            ({"type": "play", "extra": 1}, "extra"),
            ({"type": "action", "action": {"type": "alloc", "count": 50_000}}, "at most 10000"),
        ]:
            ws.send_json(bad)
            err, _ = until(ws, "error")
            assert needle in err["message"], (bad, err)
        ws.send_text("{not json")
        err, _ = until(ws, "error")
        assert "JSON" in err["message"]
        ws.send_json({"type": "step"})
        status, _ = until(ws, "status")
        assert status["tick"] == 1


def test_origin_refused_before_accept(client: TestClient) -> None:
    with pytest.raises(WebSocketDisconnect) as exc, \
            client.websocket_connect("/ws", headers={"origin": "http://evil.example"}) as ws:
        ws.receive()
    assert exc.value.code == 1008


def test_bad_preset_and_link_close_1008_with_the_reason(client: TestClient) -> None:
    for query, needle in [("preset=nope", "unknown preset"), (f"link={TOKEN0[:-9]}", "link:"),
                          ("session=missing", "no such session"), ("preset=default&link=x", "either")]:
        with connect(client, query) as ws:
            err = recv(ws)
            assert isinstance(err, dict) and err["type"] == "error" and needle in err["message"]
            with pytest.raises(WebSocketDisconnect) as exc:
                recv(ws)
            assert exc.value.code == 1008 and needle in exc.value.reason


def test_oversized_message_closes_1008() -> None:
    with TestClient(create_app(Settings(max_message_bytes=1024))) as c, connect(c, f"link={TOKEN0}") as ws:
        until(ws, "hello")
        ws.send_text(json.dumps({"type": "play", "pad": "x" * 2000}))
        with pytest.raises(WebSocketDisconnect) as exc:
            for _ in range(100):
                recv(ws)
        assert exc.value.code == 1008 and "larger" in exc.value.reason


def test_rate_limit_closes_1008() -> None:
    with TestClient(create_app(Settings(rate_per_s=5))) as c, connect(c, f"link={TOKEN0}") as ws:
        until(ws, "hello")
        for _ in range(20):
            ws.send_json({"type": "hover", "pfn": 1})
        with pytest.raises(WebSocketDisconnect) as exc:
            for _ in range(100):
                recv(ws)
        assert exc.value.code == 1008 and "rate" in exc.value.reason


def test_caps_on_simulations_and_viewers_close_1013() -> None:
    with TestClient(create_app(Settings(max_sessions=1, max_viewers=2))) as c, \
            connect(c, f"link={TOKEN0}") as first:
        hello, _ = until(first, "hello")
        with connect(c, f"link={TOKEN0}") as second:
            err = recv(second)
            assert isinstance(err, dict) and "simulations" in err["message"]
            with pytest.raises(WebSocketDisconnect) as exc:
                recv(second)
            assert exc.value.code == 1013
        with connect(c, f"session={hello['session']}") as joined:
            until(joined, "hello")
            with connect(c, f"session={hello['session']}") as third:
                err = recv(third)
                assert isinstance(err, dict) and "viewers" in err["message"]
                with pytest.raises(WebSocketDisconnect) as exc:
                    recv(third)
                assert exc.value.code == 1013


def test_followers_share_the_run_but_do_not_drive_it(client: TestClient) -> None:
    with connect(client, f"link={TOKEN0}") as teacher:
        hello, _ = until(teacher, "hello")
        frame_pair(teacher)
        with connect(client, f"session={hello['session']}") as student:
            joined, _ = until(student, "hello")
            assert joined["session"] == hello["session"] and joined["role"] == "follower"
            h0, _, _ = frame_pair(student)
            student.send_json({"type": "play"})
            err, _ = until(student, "error")
            assert "presenter" in err["message"]
            teacher.send_json({"type": "step"})
            status, _ = until(student, "status")
            assert status["tick"] == 1
            h, _, _ = frame_pair(student)
            assert h.tick == 1 and h.seq == h0.seq + 1


def test_seek_reports_progress_then_status() -> None:
    with TestClient(create_app(Settings(progress_interval_s=1e-6))) as c, connect(c, f"link={TOKEN0}") as ws:
        until(ws, "hello")
        ws.send_json({"type": "seek", "tick": 12})
        status, seen = until(ws, "status")
        progress = [m for m in seen if isinstance(m, dict) and m["type"] == "progress"]
        assert progress and all(p["total"] == 12 and 0 < p["done"] < 12 for p in progress)
        assert [p["done"] for p in progress] == sorted(p["done"] for p in progress)
        assert status["tick"] == 12


def test_an_idle_session_makes_room_for_a_new_one() -> None:
    with TestClient(create_app(Settings(max_sessions=1, session_linger_s=600))) as c:
        hub = c.app.state.hub  # type: ignore[attr-defined]
        with connect(c, f"link={TOKEN0}") as first:
            first_id = until(first, "hello")[0]["session"]
            first.send_json({"type": "play"})
            until(first, "status")
        assert list(hub.sessions) == [first_id]  # lingering, for viewers who rejoin
        with connect(c, f"link={TOKEN0}") as second:
            hello, _ = until(second, "hello")
            assert hello["session"] != first_id and list(hub.sessions) == [hello["session"]]


def test_origin_allowlist_and_same_host_default(client: TestClient) -> None:
    with connect(client, f"link={TOKEN0}") as ws:  # Origin http://testserver == Host: allowed by default
        until(ws, "hello")
    for bad in ("http://testserver.evil.example", "null", "https://evil.example/testserver"):
        with pytest.raises(WebSocketDisconnect) as exc, \
                client.websocket_connect(f"/ws?link={TOKEN0}", headers={"origin": bad}) as ws:
            ws.receive()
        assert exc.value.code == 1008
    listed = Settings(allowed_origins=["http://class.example:8000"])
    with TestClient(create_app(listed)) as c:
        with c.websocket_connect(f"/ws?link={TOKEN0}", headers={"origin": "http://class.example:8000"}) as ws:
            until(ws, "hello")
        with pytest.raises(WebSocketDisconnect) as exc, \
                c.websocket_connect(f"/ws?link={TOKEN0}", headers=ORIGIN) as ws:
            ws.receive()
        assert exc.value.code == 1008


def test_history_after_a_seek_and_for_a_viewer_who_joins_late(client: TestClient) -> None:
    # the charts' samples of every tick so far: after a seek, and after hello for a late joiner
    with connect(client, f"link={TOKEN0}") as teacher:
        hello, _ = until(teacher, "hello")
        teacher.send_json({"type": "seek", "tick": 9})
        history, _ = until(teacher, "history")
        assert history["tick"] == list(range(10))
        assert [z["name"] for z in history["zones"]] == ["DMA32", "Normal"]
        assert all(len(z["free_pages"]) == 10 for z in history["zones"])
        assert len(history["vmstat"]["compact_stall"]) == 10
        with connect(client, f"session={hello['session']}") as student:
            joined, seen = until(student, "history")
            assert next(m["type"] for m in seen if isinstance(m, dict)) == "hello"
            assert joined["tick"] == list(range(10)) and joined["zones"] == history["zones"]
        # a step back needs none: the page cuts its own series
        teacher.send_json({"type": "seek", "tick": 8})
        until(teacher, "status")
        teacher.send_json({"type": "seek", "tick": 12})
        later, _ = until(teacher, "history")  # the next history is the forward seek's
        assert later["tick"] == list(range(13))
