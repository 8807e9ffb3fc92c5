"""The page's files and pages are served compressed, with caching that never mixes versions (issue 11:
'Static assets are served compressed, with correct caching headers')."""

from __future__ import annotations

import gzip
import warnings

from app.main import create_app
from app.settings import Settings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def test_the_pages_files_are_gzipped_and_revalidated() -> None:
    with TestClient(create_app(Settings())) as c:
        for path in ("/static/js/main.js", "/static/css/zonescope.css", "/"):
            r = c.get(path, headers={"accept-encoding": "gzip"})
            assert r.headers["content-encoding"] == "gzip", path
            assert int(r.headers["content-length"]) < len(r.content) // 2, path
        plain = c.get("/static/js/main.js", headers={"accept-encoding": "identity"})
        assert "content-encoding" not in plain.headers  # a client that does not accept gzip
        assert plain.headers["cache-control"] == "no-cache"
        again = c.get("/static/js/main.js", headers={"if-none-match": plain.headers["etag"]})
        assert again.status_code == 304


def test_plotly_is_gzipped_once_not_twice() -> None:
    with TestClient(create_app(Settings())) as c:
        # a raw transport read: the body must be one gzip stream of the JavaScript, not gzip of gzip
        with c.stream("GET", "/static/vendor/plotly.min.js", headers={"accept-encoding": "gzip"}) as r:
            raw = b"".join(r.iter_raw())
        assert r.headers["content-encoding"] == "gzip" and r.headers["cache-control"].startswith("public")
        body = gzip.decompress(raw)
        assert not body.startswith(b"\x1f\x8b") and b"plotly" in body[:2000].lower()
