"""The FastAPI application factory: `create_app(settings)`; nothing is built at import time."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import Response
from starlette.types import Scope

from app.http_headers import HostAllowlist, SecurityHeaders
from app.hub import Hub
from app.routes_api import router as api_router
from app.routes_docs import router as docs_router
from app.routes_pages import router as pages_router
from app.routes_ws import router as ws_router
from app.settings import Settings
from app.sources import preset_list
from app.wire import CaptureRawSend

#: data packages (the repository's templates/ and static/, installed with the wheel; see pyproject.toml)
TEMPLATE_PACKAGE = "app.templates"
STATIC_PACKAGE = "app.static"


def package_dir(package: str) -> Path:
    """The directory of an installed data package (a wheel or an editable install puts its files on
    disk; a zipped install is not supported: Starlette and Jinja serve from directories)."""
    root = resources.files(package)
    if not isinstance(root, Path):
        raise RuntimeError(f"{package}: package data must be installed as files (got {type(root).__name__})")
    return root


class PageFiles(StaticFiles):
    """The page's own scripts and styles: revalidated on every load (their ETag makes that a 304),
    so that after an update a page never mixes old and new modules."""

    def file_response(self, full_path: str | os.PathLike[str], stat_result: os.stat_result, scope: Scope,
                      status_code: int = 200) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers.setdefault("Cache-Control", "no-cache")
        return response


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings if settings is not None else Settings()
    hub = Hub(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await hub.close()

    # docs_url / redoc_url off: FastAPI's pages load their scripts from a CDN; app/routes_docs.py serves /docs
    app = FastAPI(title="zonescope", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Live simulator of Linux physical memory management: dashboard server.")
    app.state.settings = settings
    app.state.hub = hub
    app.state.presets = preset_list()
    app.state.templates = Jinja2Templates(directory=str(package_dir(TEMPLATE_PACKAGE)))
    app.include_router(api_router)
    app.include_router(docs_router)
    app.include_router(pages_router)
    app.include_router(ws_router)
    app.add_middleware(CaptureRawSend)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(HostAllowlist, allowed=list(settings.allowed_hosts))
    # pages, JSON and the page's files gzipped for clients that accept it (plotly.js comes gzipped
    # already, compressed once per process: responses with a Content-Encoding pass through)
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    app.mount("/static", PageFiles(directory=str(package_dir(STATIC_PACKAGE))), name="static")
    return app
