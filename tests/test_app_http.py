"""HTTP routes: health, presets, scenarios, links (422 on bad input), pages with the CSP, plotly.js."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.main import create_app
from app.presets import load_scenario, preset_names
from app.settings import Settings
from simcore.link import decode_link, make_token

with warnings.catch_warnings():  # starlette asks for httpx2; the test client works the same with httpx
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(Settings(max_ff_work=1_000_000))) as c:
        yield c


def test_healthz_and_openapi(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/healthz", "/api/presets", "/api/link", "/api/scenario/{name}"} <= set(paths)


def test_docs_page_works_offline(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200 and "/api/link" in page.text and "/openapi.json" in page.text
    assert "http://" not in page.text and "https://" not in page.text  # no CDN (FastAPI's Swagger UI has one)
    assert "<script" not in page.text


def test_presets_and_normalized_scenario(client: TestClient) -> None:
    presets = client.get("/api/presets").json()
    assert [p["name"] for p in presets] == preset_names()
    assert all(set(p) == {"name", "title", "description"} for p in presets)
    doc = client.get("/api/scenario/default").json()
    assert doc == load_scenario("default").to_dict()
    bad = client.get("/api/scenario/nope")
    assert bad.status_code == 422 and "preset" in bad.json()["detail"]
    # a preset name is not a path: nothing outside the presets can be read
    assert client.get("/api/scenario/..%2Fpyproject.toml").status_code in (404, 422)


def test_link_roundtrip_and_validation(client: TestClient) -> None:
    doc = load_scenario("default").to_dict()
    ok = client.post("/api/link", json={**doc, "at_tick": 40})
    assert ok.status_code == 200
    token = ok.json()["token"]
    assert ok.json()["path"] == f"/s/{token}"
    sc, at = decode_link(token)
    assert at == 40 and sc == load_scenario("default")
    bad = client.post("/api/link", json={**doc, "seed": -1})
    assert bad.status_code == 422 and "seed" in bad.json()["detail"]
    extra = client.post("/api/link", json={**doc, "surprise": 1})
    assert extra.status_code == 422 and "surprise" in extra.json()["detail"]
    big = client.post("/api/link", json={**doc, "at_tick": 10_000})  # 10_000 x 2000 > the 1e6 test cap
    assert big.status_code == 422 and "cap" in big.json()["detail"]
    assert client.post("/api/link", content=b"{not json").status_code == 422
    assert client.post("/api/link", json=[1, 2]).status_code == 422
    huge = client.post("/api/link", content=b"{" + b" " * 300_000 + b"}")
    assert huge.status_code == 422 and "larger" in huge.json()["detail"]


def test_pages_carry_the_csp(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "connect-src 'self'" in csp
    assert "preset=default" in r.text
    assert client.get("/?preset=default").status_code == 200


def test_bad_preset_and_bad_link_render_the_error(client: TestClient) -> None:
    r = client.get("/?preset=nope")
    assert r.status_code == 422 and "unknown preset" in r.text
    token = make_token(load_scenario("default"), 10)
    cut = client.get(f"/s/{token[:-12]}")
    assert cut.status_code == 422
    assert "link: token" in cut.text and cut.headers["content-security-policy"]
    assert client.get("/s/nonsense").status_code == 422
    good = client.get(f"/s/{token}")
    assert good.status_code == 200 and token in good.text


def test_a_link_larger_than_the_server_cap_is_refused_with_both_sizes() -> None:
    # the default preset is 262,144 pages (1 GiB): a server capped at 512 MiB refuses it by name,
    # one capped at exactly 1 GiB opens it
    token = make_token(load_scenario("default"), 0)
    with TestClient(create_app(Settings(max_node_pages=1 << 17))) as small:
        r = small.get(f"/s/{token}")
        assert r.status_code == 422
        want = "the node is larger than this server runs (got 262144 pages = 1 GiB, cap 131072 = 512 MiB)"
        assert want in r.text
    with TestClient(create_app(Settings(max_node_pages=1 << 18))) as exact:
        assert exact.get(f"/s/{token}").status_code == 200


def test_plotly_is_served_from_the_package(client: TestClient) -> None:
    import plotly

    r = client.get("/static/vendor/plotly.min.js")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    local = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    assert len(r.content) == local.stat().st_size




def test_plotly_goes_gzipped_once_with_an_etag_and_plain_to_clients_without_gzip(client: TestClient) -> None:
    import plotly

    local = (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_bytes()
    r = client.get("/static/vendor/plotly.min.js", headers={"Accept-Encoding": "gzip"})
    assert r.headers["content-encoding"] == "gzip" and r.headers["vary"] == "Accept-Encoding"
    assert int(r.headers["content-length"]) < len(local) // 2 and r.content == local
    etag = r.headers["etag"]
    again = client.get("/static/vendor/plotly.min.js",
                       headers={"Accept-Encoding": "gzip", "If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    plain = client.get("/static/vendor/plotly.min.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content == local


@pytest.mark.parametrize("path", ["/", "/healthz", "/api/presets", "/docs", "/static/js/main.js",
                                  "/static/vendor/plotly.min.js", "/s/not-a-token", "/no-such-path"])
def test_every_response_carries_the_security_headers(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "same-origin"
    assert r.headers["x-frame-options"] == "SAMEORIGIN"


def test_pages_keep_their_own_csp_and_cache_control(client: TestClient) -> None:
    r = client.get("/")
    assert "frame-ancestors 'self'" in r.headers["content-security-policy"]
    assert r.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("path", ["/", "/healthz"])
def test_head_is_allowed_where_get_is(client: TestClient, path: str) -> None:
    r = client.head(path)
    assert r.status_code == 200 and r.content == b""


def test_host_allowlist_refuses_other_names_on_http_and_sockets() -> None:
    # DNS rebinding: a page on evil.example resolving to 127.0.0.1 sends Host: evil.example:8000
    from starlette.websockets import WebSocketDisconnect

    from app.http_headers import host_name

    assert [host_name(h) for h in ("LocalHost:8000", "[::1]:8000", "::1", "127.0.0.1")] == [
        "localhost", "::1", "::1", "127.0.0.1"
    ]
    app = create_app(Settings(allowed_hosts=["localhost", "127.0.0.1"]))
    with TestClient(app, base_url="http://localhost:8000") as c:
        assert c.get("/healthz").status_code == 200
        bad = c.get("/healthz", headers={"host": "evil.example:8000"})
        assert bad.status_code == 400
        assert bad.text.startswith("host: 'evil.example:8000' is not a name this server answers to")
        assert bad.headers["x-content-type-options"] == "nosniff"
        evil = {"host": "evil.example", "origin": "http://evil.example"}
        with pytest.raises(WebSocketDisconnect) as closed, c.websocket_connect("/ws", headers=evil):
            pass
        assert closed.value.code == 1008
        good = {"host": "localhost:8000", "origin": "http://localhost:8000"}
        with c.websocket_connect("/ws", headers=good) as ws:
            assert '"hello"' in ws.receive_text()
    # no list: any name (create_app without the serve default, as the tests and proxies use it)
    with TestClient(create_app(Settings())) as c:
        assert c.get("/healthz", headers={"host": "evil.example"}).status_code == 200
