"""app/wire_types.py: every JSON message the server sends has the keys of its TypedDict, no more and no
fewer, and every message type is documented in docs/protocol.md."""

from __future__ import annotations

import contextlib
import json
import typing
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.main import create_app
from app.settings import Settings
from app.wire_types import ServerMessage
from simcore.link import make_token
from simcore.scenario import validate_scenario

with warnings.catch_warnings():  # starlette asks for httpx2; the test client works the same with httpx
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parents[1]
TINY = {"name": "tiny", "seed": 5, "node": {"zones": [{"name": "Normal", "pages": 8192}]},
        "workload": {"events_per_tick": 60, "target_occupancy": 0.7}}


def message_types() -> dict[str, type]:
    """The TypedDict of each server -> browser message, by its `type`."""
    out: dict[str, type] = {}
    for td in typing.get_args(ServerMessage):
        (kind,) = typing.get_args(typing.get_type_hints(td)["type"])
        out[kind] = td
    return out


def key_sets(td: type) -> tuple[set[str], set[str]]:
    """(required keys, every key) of a TypedDict (NotRequired read from the hints: under
    `from __future__ import annotations` Python 3.11's __optional_keys__ does not see it)."""
    hints = typing.get_type_hints(td, include_extras=True)
    optional = {k for k, t in hints.items() if typing.get_origin(t) is typing.NotRequired}
    return set(hints) - optional, set(hints)


def check_keys(msg: dict[str, Any]) -> None:
    required, every = key_sets(message_types()[msg["type"]])
    assert required <= set(msg) <= every, (msg["type"], sorted(required - set(msg)), sorted(set(msg) - every))


@pytest.fixture(scope="module")
def messages() -> Iterator[dict[str, dict[str, Any]]]:
    """One message of every type, from a real session."""
    seen: dict[str, dict[str, Any]] = {}
    token = make_token(validate_scenario(TINY), 0)
    settings = Settings(progress_interval_s=1e-6)
    with TestClient(create_app(settings)) as client, contextlib.ExitStack() as stack, \
            client.websocket_connect(f"/ws?link={token}", headers={"origin": "http://testserver"}) as ws:
        requests: list[dict[str, Any]] = [
            {"type": "step"}, {"type": "proc", "file": "buddyinfo"}, {"type": "hover", "pfn": 3},
            {"type": "link"},
            {"type": "lens", "lens": "not-a-lens"}, {"type": "seek", "tick": 40},
        ]
        for _ in range(200):
            m = ws.receive()
            if m.get("bytes") is not None:
                continue
            doc = json.loads(m["text"])
            seen.setdefault(doc["type"], doc)
            if doc["type"] == "metrics":
                ws.send_json({"type": "ack", "seq": doc["seq"]})
            if set(message_types()) <= set(seen):
                break
            if set(message_types()) - set(seen) == {"moved"} and "room" in seen["hello"]:
                # the presenter starts another run in the room: this run's viewers are told to move
                room = seen["hello"]["room"]
                other = stack.enter_context(client.websocket_connect(
                    f"/ws?preset=default&room={room['id']}&key={room['key']}",
                    headers={"origin": "http://testserver"}))
                other.receive()  # its hello
                seen["hello"] = {k: v for k, v in seen["hello"].items() if k != "room"}  # (once)
            if doc["type"] in ("metrics", "status", "proc", "hover", "link", "error") and requests:
                ws.send_json(requests.pop(0))
        yield seen


def test_every_message_type_is_sent_with_the_keys_of_its_typed_dict(
    messages: dict[str, dict[str, Any]],
) -> None:
    assert set(messages) == set(message_types())
    for msg in messages.values():
        check_keys(msg)


def test_the_key_check_catches_an_extra_or_a_missing_key(messages: dict[str, dict[str, Any]]) -> None:
    with pytest.raises(AssertionError):
        check_keys({**messages["hello"], "presets_again": []})
    status = dict(messages["status"])
    del status["frame_hash"]
    with pytest.raises(AssertionError):
        check_keys(status)


def test_every_message_type_is_documented() -> None:
    doc = (ROOT / "docs" / "protocol.md").read_text()
    for kind in message_types():
        assert f'{{"type":"{kind}"' in doc, kind
