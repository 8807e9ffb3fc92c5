"""The dashboard page: `/` (a preset) and `/s/{token}` (a share link), plus plotly.js from its package."""

from __future__ import annotations

import asyncio
import functools
import gzip
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
PLOTLY_HEADERS = {"Cache-Control": "public, max-age=86400", "Vary": "Accept-Encoding",
                  "X-Content-Type-Options": "nosniff"}


def plotly_file() -> Path:
    import plotly

    return Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"


@functools.cache
def plotly_gzip() -> tuple[bytes, str]:
    """plotly.min.js gzipped once per process (4.8 MB -> about 1.4 MB; a class of 300 loading the page
    at once costs one compression), and its ETag (from the plotly version)."""
    import plotly

    body = gzip.compress(plotly_file().read_bytes(), compresslevel=9, mtime=0)
    return body, f'"plotly-{plotly.__version__}"'


@router.get(PLOTLY_PATH, include_in_schema=False)
async def plotly_js(request: Request) -> Response:
    if "gzip" not in request.headers.get("accept-encoding", ""):
        return FileResponse(plotly_file(), media_type="text/javascript", headers=PLOTLY_HEADERS)
    body, etag = await asyncio.to_thread(plotly_gzip)
    headers = {**PLOTLY_HEADERS, "ETag": etag}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="text/javascript", headers={**headers, "Content-Encoding": "gzip"})


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
@router.head("/", include_in_schema=False)
async def index(request: Request, preset: Annotated[str, Query(max_length=100)] = DEFAULT_PRESET) -> Response:
    try:
        from_preset(preset)
    except ScenarioError as err:
        return _page(request, urlencode({"preset": DEFAULT_PRESET}), DEFAULT_PRESET, str(err))
    return _page(request, urlencode({"preset": preset}), preset, None)


@router.get("/s/{token}", response_class=HTMLResponse)
@router.head("/s/{token}", include_in_schema=False)
async def shared(request: Request, token: str) -> Response:
    settings: Settings = request.app.state.settings
    try:
        from_link(token, settings.max_ff_work, settings.max_node_pages, request.app.state.hub.shared,
                  settings.sim_events_per_s)
    except ScenarioError as err:
        return _page(request, urlencode({"link": token[:200]}), None, str(err))
    return _page(request, urlencode({"link": token}), None, None)
