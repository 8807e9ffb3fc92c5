"""A long fast-forward can be cancelled, and stops when nobody is left to watch it (issue 11; issue 19
item 1: work nobody waits for stops within a second).

`{"type":"cancel"}` is handled at once (not queued behind the seek it stops); the producer checks it
between chunks of progress_interval_s; the run stays paused at the tick it reached, and the last
progress message says `cancelled`.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator

import pytest
from test_app_ws import connect, until

from app.main import create_app
from app.settings import Settings
from simcore import make_token, validate_scenario

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

#: about 2 ms a tick: a seek to 20,000 would take ~40 s
HEAVY = {"name": "heavy", "seed": 2, "node": {"zones": [{"name": "Normal", "pages": 16384}]},
         "workload": {"events_per_tick": 3000, "target_occupancy": 0.7}}
TARGET = 20_000


@pytest.fixture()
def client() -> Iterator[TestClient]:
    with TestClient(create_app(Settings(progress_interval_s=0.05))) as c:
        yield c


def test_cancel_stops_a_seek_where_it_got_to(client: TestClient) -> None:
    with connect(client, f"link={make_token(validate_scenario(HEAVY), 0)}") as ws:
        until(ws, "hello")
        ws.send_json({"type": "seek", "tick": TARGET})
        first, _ = until(ws, "progress")
        assert 0 < first["done"] < TARGET and "cancelled" not in first
        t0 = time.monotonic()
        ws.send_json({"type": "cancel"})
        last, _ = until(ws, "progress", limit=200)
        while not last.get("cancelled"):
            last, _ = until(ws, "progress", limit=200)
        status, _ = until(ws, "status")
        assert time.monotonic() - t0 < 1.0
    assert status["playing"] is False
    assert first["done"] <= status["tick"] == last["done"] < TARGET


def test_a_follower_may_not_cancel_the_presenters_seek(client: TestClient) -> None:
    with connect(client, f"link={make_token(validate_scenario(HEAVY), 0)}") as teacher:
        hello, _ = until(teacher, "hello")
        with connect(client, f"session={hello['session']}") as student:
            until(student, "hello")
            student.send_json({"type": "cancel"})
            err, _ = until(student, "error")
    assert err["message"] == "session: only the presenter controls this session"


def test_a_seek_stops_when_its_last_viewer_leaves(client: TestClient) -> None:
    hub = client.app.state.hub  # type: ignore[attr-defined]
    with connect(client, f"link={make_token(validate_scenario(HEAVY), 0)}") as ws:
        hello, _ = until(ws, "hello")
        ws.send_json({"type": "seek", "tick": TARGET})
        until(ws, "progress")
    run = hub.sessions[hello["session"]].run
    time.sleep(0.5)
    stopped_at = run.tick
    time.sleep(0.5)
    assert run.tick == stopped_at < TARGET  # nothing ran in the last half second
