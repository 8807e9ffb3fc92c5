"""Browser fixtures: one real uvicorn server and one Debian chromium per test session.

The server runs `app.main.create_app` on a free port in a thread; each test gets a fresh browser
context (no shared cookies, storage or clipboard) and a `Watched` page that records console errors,
page errors and every request, so a test can assert that nothing left 127.0.0.1.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-gpu",
    "--disable-quic",
]
LOCAL_HOSTS = ("127.0.0.1", "localhost")


@dataclass
class LiveServer:
    url: str
    port: int

    def post_json(self, path: str, doc: dict[str, Any]) -> dict[str, Any]:
        req = urllib.request.Request(self.url + path, data=json.dumps(doc).encode(),
                                     headers={"content-type": "application/json"}, method="POST")
        with urllib.request.urlopen(req, timeout=10) as resp:
            out: dict[str, Any] = json.loads(resp.read())
        return out


def serve(settings: Any) -> Iterator[LiveServer]:
    """A real uvicorn serving `create_app(settings)` on a free port, in a thread, until closed."""
    import uvicorn

    from app.cli.serve_commands import uvicorn_config
    from app.main import create_app

    config = uvicorn_config(create_app(settings), "127.0.0.1", 0, settings.max_message_bytes, "warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-browser-tests", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield LiveServer(f"http://127.0.0.1:{port}", port)
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="session")
def live_server() -> Iterator[LiveServer]:
    from app.settings import Settings

    yield from serve(Settings(port=0, max_sessions=64, session_linger_s=2.0))


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install -y chromium` (make test installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@dataclass
class Watched:
    """A page plus what it did: console errors, uncaught exceptions, every request URL."""

    page: Any
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def foreign_requests(self) -> list[str]:
        out = []
        for url in self.requests:
            parts = urlsplit(url)
            if parts.scheme in ("data", "blob", "about"):
                continue
            if parts.hostname not in LOCAL_HOSTS:
                out.append(url)
        return out

    def state(self) -> dict[str, Any]:
        """`window.zonescope.state` (evaluated through CDP, which the page's CSP does not restrict)."""
        script = "() => window.zonescope ? {...window.zonescope.state} : {}"
        try:
            st: dict[str, Any] = self.page.evaluate(script)
        except Exception as err:  # the page is navigating (a follower moving to a new run): no state yet
            if "context was destroyed" not in str(err) and "navigat" not in str(err):
                raise
            return {}
        return st

    def wait_for(
        self, pred: Callable[[dict[str, Any]], bool], timeout: float = 45.0, what: str = ""
    ) -> dict[str, Any]:
        """Poll the page state until `pred` holds (wait_for_function would need eval, which CSP forbids)."""
        deadline = time.monotonic() + timeout
        st = self.state()
        while not pred(st):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what or 'the page'}; state: {_short(st)}")
            time.sleep(0.02)
            st = self.state()
        return st

    def wait_rendered_after(self, seq: int | None, timeout: float = 45.0, what: str = "") -> dict[str, Any]:
        def rendered(s: dict[str, Any]) -> bool:
            return s.get("renderedSeq") is not None and (seq is None or s["renderedSeq"] > seq)

        return self.wait_for(rendered, timeout, what or f"a frame after seq {seq}")


def _short(st: dict[str, Any]) -> str:
    keep = ("connected", "tick", "seq", "renderedSeq", "lens", "playing", "error", "closed", "cursors")
    return json.dumps({k: st.get(k) for k in keep})[:600]


@pytest.fixture
def open_page(browser: Any, live_server: LiveServer) -> Iterator[Callable[..., Watched]]:
    """Open a path in a fresh browser context; the contexts are closed when the test ends."""
    contexts: list[Any] = []

    def _open(path: str = "/", wait_render: bool = True, **context_args: Any) -> Watched:
        ctx = browser.new_context(viewport={"width": 1500, "height": 1100}, **context_args)
        contexts.append(ctx)
        page = ctx.new_page()
        w = Watched(page)
        page.on("console", lambda m: w.console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: w.page_errors.append(str(e)))
        page.on("request", lambda r: w.requests.append(r.url))
        page.goto(live_server.url + path)
        if wait_render:
            w.wait_rendered_after(None, what="the first frame")
        return w

    yield _open
    for ctx in contexts:
        ctx.close()
