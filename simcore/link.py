"""Share links: a scenario (timeline of recorded actions included) and a tick, as a URL-safe token.

Token format, version 1: ``z1.`` + base64url(deflate(canonical JSON)) without padding. The JSON is
the normalized scenario plus ``at_tick``. Decoding is bounded (token length, inflated size) and the
result is validated like any other scenario, so a link cannot ask for more than a scenario may.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from typing import Any

from simcore.documents import parse_json
from simcore.scenario import Scenario, ScenarioError, check_tick, check_work, validate_scenario

PREFIX = "z1."
MAX_TOKEN_CHARS = 32_768
MAX_INFLATED_BYTES = 262_144


def is_link(source: str) -> bool:
    return source.startswith(PREFIX) or "/s/z1." in source


def make_token(scenario: Scenario, at_tick: int | None = None) -> str:
    doc = scenario.to_dict()
    doc["at_tick"] = scenario.ticks if at_tick is None else at_tick
    raw = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    packed = zlib.compress(raw, 9)
    token = PREFIX + base64.urlsafe_b64encode(packed).rstrip(b"=").decode()
    if len(token) > MAX_TOKEN_CHARS:
        raise ScenarioError(
            f"link: the scenario is too large for a link ({len(token)} > {MAX_TOKEN_CHARS} chars)"
        )
    return token


def _token_of(source: str) -> str:
    if "/s/" in source:
        source = source.rsplit("/s/", 1)[1]
    return source.split("?", 1)[0].split("#", 1)[0].strip()


def link_document(source: str) -> dict[str, Any]:
    """Decode a token (or a URL holding one) to the raw scenario document, `at_tick` included."""
    token = _token_of(source)
    if not token.startswith(PREFIX):
        raise ScenarioError("link: not a zonescope link (tokens start with 'z1.')")
    if len(token) > MAX_TOKEN_CHARS:
        raise ScenarioError(f"link: token longer than {MAX_TOKEN_CHARS} characters")
    body = token[len(PREFIX) :]
    try:
        packed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        raise ScenarioError("link: token is not valid base64url (was it cut short?)") from None
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(packed, MAX_INFLATED_BYTES)
    except zlib.error:
        raise ScenarioError("link: token is damaged or truncated (cannot inflate)") from None
    if inflater.unconsumed_tail:
        raise ScenarioError(f"link: content larger than {MAX_INFLATED_BYTES} bytes")
    if not inflater.eof:
        raise ScenarioError("link: token is truncated")
    if inflater.unused_data:
        raise ScenarioError("link: token is damaged (extra data after its end)")
    try:
        doc = parse_json(raw, "link: content")
    except ScenarioError as err:
        raise ScenarioError(f"{err} (not a scenario document)") from None
    if not isinstance(doc, dict):
        raise ScenarioError("link: content is not a scenario document")
    return doc


def decode_link(source: str) -> tuple[Scenario, int]:
    """A validated scenario and the tick the link points at."""
    doc = link_document(source)
    at = doc.pop("at_tick", None)
    scenario = validate_scenario(doc)
    at = check_tick(scenario.ticks if at is None else at, "link: at_tick")
    check_work(scenario, at, field="link: at_tick")
    return scenario, at
