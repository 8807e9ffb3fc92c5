"""Links and Detach at any tick a run on this server has reached (issue 11, "Any tick, any time").

The fast-forward cap counts only work this server has not done: a link to a tick some run here has
reached opens from the nearest shared keyframe (app/shared_keyframes.py), and goes on exactly as a
replay from tick 0 would (same frame hash). What the server would refuse is said in words, and a
`link` request never hands out such a link as if it worked.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from test_app_ws import connect, frame_pair, recv, until

from app.cli.common import run_hashed
from app.main import create_app
from app.settings import Settings
from app.shared_keyframes import SharedKeyframes, base_key, prefix_key
from app.simrun import SimRun
from simcore import CompactAction, decode_link, make_token, validate_scenario
from simcore.simulation import Simulation

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

SMALL = {"name": "small", "seed": 3, "node": {"zones": [{"name": "Normal", "pages": 8192}]},
         "workload": {"events_per_tick": 100, "target_occupancy": 0.7}}
#: 150 ticks of SMALL's work: a seek or link may run at most 150 ticks this server has not run
CAP = 150 * 100


def _app(**kw: int) -> TestClient:
    return TestClient(create_app(Settings(max_ff_work=CAP, keyframe_every=10, **kw)))


@pytest.fixture()
def client() -> Iterator[TestClient]:
    with _app() as c:
        yield c


def _play_to(ws: object, ticks: list[int]) -> dict[str, object]:
    """Seek forward in steps, each within the cap; returns the last frame's metrics."""
    metrics: dict[str, object] = {}
    for t in ticks:
        ws.send_json({"type": "seek", "tick": t})  # type: ignore[attr-defined]
        until(ws, "status")
        _, _, metrics = frame_pair(ws)
    return metrics


def test_a_link_past_the_cap_opens_from_the_nearest_shared_keyframe(client: TestClient) -> None:
    token0 = make_token(validate_scenario(SMALL), 0)
    with connect(client, f"link={token0}") as ws:
        until(ws, "hello")
        metrics = _play_to(ws, [140, 280, 420])
        assert metrics["tick"] == 420
        ws.send_json({"type": "link"})
        link, _ = until(ws, "link")
    assert link["tick"] == 420 and link["refused"] == ""
    token = link["path"].removeprefix("/s/")
    # the page route opens it (no error banner) and so does a new socket, from a keyframe near 420
    page = client.get(link["path"])
    assert page.status_code == 200 and "this needs" not in page.text
    hub = client.app.state.hub  # type: ignore[attr-defined]
    with connect(client, f"link={token}") as ws2:
        hello, _ = until(ws2, "hello")
        got: dict[str, Any] = {}
        history: dict[str, Any] = {}
        while got.get("tick") != 420 or not history:
            m = recv(ws2)
            if isinstance(m, dict) and m["type"] == "metrics":
                got = m
            elif isinstance(m, dict) and m["type"] == "history":
                history = m
        assert 400 <= hub.sessions[hello["session"]].run.started_from <= 420
        # the charts get every tick from 0, though this run started at the keyframe
        assert history["tick"][0] == 0 and history["tick"][-1] == 420
    scenario, at = decode_link(token)
    assert got["frame_hash"] == metrics["frame_hash"] == run_hashed(Simulation(scenario), at)


def test_the_same_link_on_a_server_that_never_ran_it_is_refused_in_words() -> None:
    scenario = validate_scenario(SMALL)
    with _app() as fresh:
        page = fresh.get("/s/" + make_token(scenario, 420))
        assert "link: at_tick: this needs" in page.text
        assert "(420 ticks from tick 0, x 100 events a tick); this server allows" in page.text
        # one tick past the cap is refused, the cap itself is not (both sides)
        assert "this needs" in fresh.get("/s/" + make_token(scenario, 151)).text
        assert "this needs" not in fresh.get("/s/" + make_token(scenario, 150)).text
        refused = fresh.post("/api/link", json={**SMALL, "at_tick": 151})
        assert refused.status_code == 422 and "this server allows" in refused.json()["detail"]


def test_a_link_request_says_when_this_server_would_refuse_the_link() -> None:
    # no keyframes at all: the current tick's link needs a replay from 0, over the cap at 300
    token = make_token(validate_scenario(SMALL), 0)
    with _app(keyframe_memory_mib=0, shared_keyframe_mib=0) as c, connect(c, f"link={token}") as ws:
        until(ws, "hello")
        _play_to(ws, [140])
        ws.send_json({"type": "link"})
        ok, _ = until(ws, "link")
        assert ok["tick"] == 140 and ok["refused"] == ""
        _play_to(ws, [280])
        ws.send_json({"type": "link"})
        refused, _ = until(ws, "link")
    assert refused["tick"] == 280 and refused["refused"].startswith("link: this needs")
    assert "280 ticks from tick 0" in refused["refused"]


def test_a_follower_gets_the_link_of_the_tick_on_screen(client: TestClient) -> None:
    with connect(client, f"link={make_token(validate_scenario(SMALL), 0)}") as teacher:
        hello, _ = until(teacher, "hello")
        _play_to(teacher, [60])
        with connect(client, f"session={hello['session']}") as student:
            until(student, "hello")
            student.send_json({"type": "link"})
            link, _ = until(student, "link")
    assert link["tick"] == 60 and link["refused"] == ""


def test_a_shared_keyframe_is_used_only_for_the_same_timeline_up_to_its_tick() -> None:
    scenario = validate_scenario(SMALL)
    run = SimRun(scenario, 10**9, keyframe_every=10, shared=SharedKeyframes(64 << 20))
    shared = run.shared
    assert shared is not None
    run.advance(50)
    assert shared.start_tick(scenario, 55) == 50 and shared.start_tick(scenario, 49) == 40
    # an action at tick 45 makes every keyframe after it another run's; before it, still this one's
    other = scenario.with_action(45, CompactAction())
    assert shared.start_tick(other, 55) == 40 and shared.start_tick(other, 44) == 40
    # the action at the keyframe's own tick counts (keyframes are kept after it)
    at50 = scenario.with_action(50, CompactAction())
    assert shared.start_tick(at50, 55) == 40
    # another scenario shares nothing
    assert shared.start_tick(validate_scenario({**SMALL, "seed": 4}), 55) == 0
    assert base_key(other) == base_key(scenario) and prefix_key(other, 44) == prefix_key(scenario, 44)
    assert prefix_key(other, 45) != prefix_key(scenario, 45)


def test_shared_keyframes_stay_within_their_cap_and_keep_the_newest() -> None:
    scenario = validate_scenario(SMALL)
    probe = SimRun(scenario, 10**9, keyframe_every=10)
    probe.advance(200)
    one = probe.keyframes.at_or_before(200)
    assert one is not None
    cap = one.nbytes * 12  # room for about 12
    run = SimRun(scenario, 10**9, keyframe_every=10, shared=SharedKeyframes(cap))
    shared = run.shared
    assert shared is not None
    run.advance(400)
    assert shared.nbytes <= cap
    kept = sorted(t for r in shared.runs.values() for t in r.by_tick)
    assert kept[-4:] == [370, 380, 390, 400]  # the newest stay, whatever the grid
    assert kept[0] < 200  # and an even spread of the older ones
