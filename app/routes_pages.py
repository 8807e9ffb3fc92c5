"""The dashboard page: `/` (a preset) and `/s/{token}` (a share link), plus plotly.js from its package."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from app.settings import Settings
from app.sources import DEFAULT_PRESET, from_link, from_preset
from simcore import ScenarioError

router = APIRouter()
CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "connect-src 'self'; base-uri 'none'; frame-ancestors 'self'")
PAGE_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "same-origin", "Cache-Control": "no-store"}
PLOTLY_PATH = "/static/vendor/plotly.min.js"

def plotly_file() -> Path:
    import plotly

    return Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"


@router.get(PLOTLY_PATH, include_in_schema=False)
async def plotly_js() -> FileResponse:
    return FileResponse(plotly_file(), media_type="text/javascript",
                        headers={"Cache-Control": "public, max-age=86400"})


def _page(request: Request, ws_query: str, preset: str | None, error: str | None) -> Response:
    status = 422 if error else 200
    presets: list[dict[str, str]] = request.app.state.presets
    context: dict[str, Any] = {
        "ws_path": "/ws", "ws_query": ws_query, "presets": presets, "preset": preset,
        "error": error, "plotly_path": PLOTLY_PATH,
    }
    resp: Response = request.app.state.templates.TemplateResponse(
        request, "index.html", context, status_code=status, headers=PAGE_HEADERS)
    return resp


@router.get("/", response_class=HTMLResponse)
async def index(request: Request, preset: Annotated[str, Query(max_length=100)] = DEFAULT_PRESET) -> Response:
    try:
        from_preset(preset)
    except ScenarioError as err:
        return _page(request, urlencode({"preset": DEFAULT_PRESET}), DEFAULT_PRESET, str(err))
    return _page(request, urlencode({"preset": preset}), preset, None)


@router.get("/s/{token}", response_class=HTMLResponse)
async def shared(request: Request, token: str) -> Response:
    settings: Settings = request.app.state.settings
    try:
        from_link(token, settings.max_ff_work)
    except ScenarioError as err:
        return _page(request, urlencode({"link": token[:200]}), None, str(err))
    return _page(request, urlencode({"link": token}), None, None)
