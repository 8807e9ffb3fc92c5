"""Share links: round trip, URL forms, and every way a token can be bad (bounded, named errors)."""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any

import pytest

from app.presets import load_scenario
from simcore.actions import AllocAction, FillAction
from simcore.link import (
    MAX_INFLATED_BYTES,
    MAX_TOKEN_CHARS,
    PREFIX,
    decode_link,
    is_link,
    link_document,
    make_token,
)
from simcore.scenario import MAX_TICKS, ScenarioError, validate_scenario


def pack(doc: Any, prefix: str = PREFIX) -> str:
    raw = json.dumps(doc).encode() if not isinstance(doc, bytes) else doc
    return prefix + base64.urlsafe_b64encode(zlib.compress(raw, 9)).rstrip(b"=").decode()


def test_round_trip_with_timeline_and_tick() -> None:
    s = load_scenario("default", ["seed=5"])
    s = s.with_action(3, FillAction(fraction=0.5, order=3)).with_action(9, AllocAction(order=9, count=20))
    token = make_token(s, 12)
    assert token.startswith("z1.")
    assert set(token[3:]) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    back, at = decode_link(token)
    assert back == s
    assert at == 12


def test_token_is_canonical() -> None:
    s = load_scenario("default")
    assert make_token(s, 5) == make_token(validate_scenario(s.to_dict()), 5)
    assert make_token(s, 5) != make_token(s, 6)


def test_default_tick_is_the_scenario_length() -> None:
    s = load_scenario("default", ["ticks=40"])
    assert decode_link(make_token(s))[1] == 40


@pytest.mark.parametrize("form", ["{t}", "/s/{t}", "http://127.0.0.1:8000/s/{t}", "https://x.example/s/{t}?a=1#frag",
                                  "  {t}\n"])
def test_url_forms(form: str) -> None:
    s = load_scenario("default", ["seed=77"])
    token = make_token(s, 4)
    source = form.format(t=token)
    assert is_link(source.strip())
    assert decode_link(source) == (s, 4)


def test_links_load_as_scenarios() -> None:
    s = load_scenario("default", ["seed=31"])
    assert load_scenario(make_token(s, 2)) == s


def error_of(source: str) -> str:
    with pytest.raises(ScenarioError) as info:
        decode_link(source)
    return str(info.value)


def test_not_a_zonescope_token() -> None:
    assert "tokens start with 'z1.'" in error_of("/s/z2.abcdef")


def test_truncated_tokens_never_decode() -> None:
    token = make_token(load_scenario("default"), 5)
    for cut in (len(token) - 1, len(token) - 5, len(token) // 2, 4):
        msg = error_of(token[:cut])
        assert msg.startswith("link: ")
        assert any(w in msg for w in ("truncated", "damaged", "base64"))


def test_damaged_bytes() -> None:
    token = make_token(load_scenario("default"), 5)
    body = bytearray(base64.urlsafe_b64decode(token[3:] + "=" * (-len(token[3:]) % 4)))
    body[10] ^= 0xFF
    damaged = PREFIX + base64.urlsafe_b64encode(bytes(body)).rstrip(b"=").decode()
    assert error_of(damaged).startswith("link: ")


def test_extra_data_after_the_end() -> None:
    token = make_token(load_scenario("default"), 5)
    msg = error_of(token + "AAAA")
    assert msg.startswith("link: ") and "damaged" in msg


def test_bad_base64_length() -> None:
    assert "base64" in error_of("z1.abcde")


def test_oversized_token() -> None:
    msg = error_of(PREFIX + "A" * MAX_TOKEN_CHARS)
    assert f"longer than {MAX_TOKEN_CHARS}" in msg


def test_inflate_bomb_is_bounded() -> None:
    token = pack(b'{"name": "x", "description": "' + b" " * (MAX_INFLATED_BYTES + 10) + b'"}')
    assert len(token) < 2000
    assert f"larger than {MAX_INFLATED_BYTES} bytes" in error_of(token)


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2, 3]", b'"a string"', b"\xff\xfe"])
def test_content_that_is_not_a_document(raw: bytes) -> None:
    assert "not a scenario document" in error_of(pack(raw))


def test_link_content_is_validated_like_any_scenario() -> None:
    msg = error_of(pack({"node": {"zones": [{"name": "Normal", "pages": 1 << 30}]}}))
    assert msg.startswith("node.zones.0.pages: ") and "1 TiB" in msg
    assert error_of(pack({"sneaky": True})).startswith("sneaky: unknown key")


@pytest.mark.parametrize("at", [-1, MAX_TICKS + 1, "7", 2.5, True])
def test_bad_at_tick(at: object) -> None:
    assert "at_tick must be an integer" in error_of(pack({"at_tick": at}))


def test_at_tick_times_events_is_capped() -> None:
    msg = error_of(pack({"at_tick": MAX_TICKS, "workload": {"events_per_tick": 100_000}, "ticks": 10}))
    assert "at_tick x workload.events_per_tick" in msg


def test_link_document_keeps_at_tick() -> None:
    doc = link_document(make_token(load_scenario("default"), 9))
    assert doc["at_tick"] == 9 and doc["name"] == "default"
