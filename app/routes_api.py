"""JSON endpoints: health, presets, normalized scenarios, share-link tokens."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Request
from fastapi import Path as PathParam
from pydantic import BaseModel

from app.settings import Settings
from app.sources import check_view, from_preset, link_refusal
from simcore import ScenarioError, check_tick, make_token, parse_json, validate_scenario

router = APIRouter()
MAX_BODY_BYTES = 262_144


class Health(BaseModel):
    status: str


class PresetInfo(BaseModel):
    name: str
    title: str
    description: str


class LinkOut(BaseModel):
    token: str
    path: str


def settings_of(request: Request) -> Settings:
    s: Settings = request.app.state.settings
    return s


@router.get("/healthz")
@router.head("/healthz", include_in_schema=False)
async def healthz() -> Health:
    return Health(status="ok")


@router.get("/api/presets")
async def presets(request: Request) -> list[PresetInfo]:
    return [PresetInfo(**p) for p in request.app.state.presets]


@router.get("/api/scenario/{name}", responses={422: {"description": "unknown or invalid preset"}})
async def scenario(name: Annotated[str, PathParam(max_length=100)]) -> dict[str, Any]:
    """The normalized scenario of a preset (every default filled in)."""
    try:
        return from_preset(name).scenario.to_dict()
    except ScenarioError as err:
        raise HTTPException(422, str(err)) from None


@router.post("/api/link", responses={422: {"description": "the scenario did not validate"}})
async def link(request: Request) -> LinkOut:
    """Body: a scenario document (+ optional `at_tick`). Answers its share token and page path."""
    raw = bytearray()
    async for chunk in request.stream():  # read at most the cap, whatever Content-Length says
        raw += chunk
        if len(raw) > MAX_BODY_BYTES:
            raise HTTPException(422, f"body: larger than {MAX_BODY_BYTES} bytes")
    try:
        doc = parse_json(bytes(raw), "body")
    except ScenarioError as err:  # not JSON, or over the depth / number limits
        raise HTTPException(422, str(err)) from None
    if not isinstance(doc, dict):
        raise HTTPException(422, "body: expected a JSON object (a scenario)")
    at = doc.pop("at_tick", None)
    try:
        sc = check_view(validate_scenario(doc))
        at = check_tick(sc.ticks if at is None else at, "at_tick")
        st = settings_of(request)
        refusal = link_refusal(sc, at, st.max_ff_work, st.sim_events_per_s, request.app.state.hub.shared,
                               "at_tick")
        if refusal is not None:
            raise ScenarioError(refusal)
        token = make_token(sc, at)
    except ScenarioError as err:
        raise HTTPException(422, str(err)) from None
    return LinkOut(token=token, path=f"/s/{token}")
