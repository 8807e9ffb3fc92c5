"""`/docs`: the OpenAPI description as a plain page served by the app itself.

FastAPI's own `/docs` loads Swagger UI from a CDN, which an offline classroom cannot reach; this page
lists the same operations from `/openapi.json` with no script and no external request.
"""

from __future__ import annotations

from html import escape
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

router = APIRouter()

_METHODS = ("get", "post", "put", "patch", "delete")


def render_docs(schema: dict[str, Any]) -> str:
    info = schema.get("info", {})
    rows = []
    for path, ops in sorted(schema.get("paths", {}).items()):
        for method in _METHODS:
            op = ops.get(method)
            if op is None:
                continue
            text = (op.get("description") or "").strip().split("\n")[0] or op.get("summary", "")
            rows.append(f"<tr><td><code>{method.upper()}</code></td><td><code>{escape(path)}</code></td>"
                        f"<td>{escape(text)}</td></tr>")
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{escape(info.get('title', 'API'))} API</title>"
        "<style>body{font-family:system-ui,sans-serif;margin:2em;font-size:1.1rem}"
        "td{padding:4px 12px;border-bottom:1px solid #ddd;vertical-align:top}</style></head><body>"
        f"<h1>{escape(info.get('title', 'API'))} {escape(str(info.get('version', '')))}</h1>"
        f"<p>{escape(info.get('description', ''))}</p>"
        "<p>The machine-readable description: <a href=\"/openapi.json\">/openapi.json</a> (OpenAPI "
        f"{escape(str(schema.get('openapi', '')))}). The WebSocket protocol of the dashboard, "
        "<code>/ws</code>, is in docs/protocol.md.</p>"
        f"<table><tr><th>method</th><th>path</th><th>what it does</th></tr>{''.join(rows)}</table>"
        "</body></html>"
    )


@router.get("/docs", include_in_schema=False)
async def docs(request: Request) -> HTMLResponse:
    return HTMLResponse(render_docs(request.app.openapi()))
