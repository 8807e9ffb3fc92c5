"""`zonescope serve`: the dashboard under uvicorn (one process; sessions live in it)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.settings import Settings


def register_serve(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "serve", help="serve the live dashboard (FastAPI + WebSockets)",
        description="Serve the dashboard on http://HOST:PORT. Settings also come from ZONESCOPE_* "
                    "environment variables (see app/settings.py), e.g. ZONESCOPE_MAX_VIEWERS=400.",
    )
    p.add_argument("--host", default=None, help="interface to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="TCP port (default 8000; 0 picks a free one)")
    p.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"],
                   help="uvicorn's log level (default info)")
    p.set_defaults(handler=cmd_serve)


#: the largest request line + headers a client may send (browsers send a few kB)
MAX_REQUEST_HEAD_BYTES = 32 * 1024


def uvicorn_config(app: Any, host: str, port: int, max_message_bytes: int, log_level: str = "info") -> Any:
    """The uvicorn settings the dashboard needs (shared with the tests and benchmarks)."""
    import uvicorn

    return uvicorn.Config(
        app, host=host, port=port, log_level=log_level,
        ws_per_message_deflate=False,  # frames are compressed once by the producer, not per connection
        ws_max_size=max_message_bytes + 1024,  # clients send small control messages only
        timeout_graceful_shutdown=3, lifespan="on",
        # h11 (not httptools) bounds a request's head: an 8 MiB header was accepted before (issue 19)
        http="h11", h11_max_incomplete_event_size=MAX_REQUEST_HEAD_BYTES,
    )


def address_in_use(host: str, port: int) -> str:
    """Why `host:port` cannot be listened on ("" if it can), checked before uvicorn starts."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError as err:
        return str(err.strerror or err)
    family, kind, proto, _, addr = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(addr)
        except OSError as err:
            return str(err.strerror or err)
    return ""


def cmd_serve(args: argparse.Namespace) -> int:
    import sys

    import uvicorn
    from pydantic import ValidationError

    from app.main import create_app
    from app.settings import Settings

    overrides: dict[str, Any] = {}
    if args.host is not None:
        overrides["host"] = args.host
    if args.port is not None:
        overrides["port"] = args.port
    try:
        settings = Settings(**overrides)
    except ValidationError as err:
        def name(loc: tuple[Any, ...]) -> str:  # the option the value came from
            if len(loc) == 1 and loc[0] in overrides:
                return f"--{loc[0]}"
            return "ZONESCOPE_" + "_".join(str(p) for p in loc).upper()

        detail = "; ".join(f"{name(tuple(e['loc']))}: {e['msg']}, got {e['input']!r}" for e in err.errors())
        print(f"zonescope: error: settings: {detail}", file=sys.stderr)
        return 2
    settings = with_host_defaults(settings)
    busy = address_in_use(settings.host, settings.port)
    if busy:
        print(f"zonescope: error: --port {settings.port}: cannot listen on {settings.host}: {busy}",
              file=sys.stderr)
        return 2
    app = create_app(settings)
    server = uvicorn.Server(uvicorn_config(app, settings.host, settings.port, settings.max_message_bytes,
                                           args.log_level))
    server.run()
    return 0


def with_host_defaults(settings: Settings) -> Settings:
    """A server bound to a loopback address answers to the loopback names only, unless
    ZONESCOPE_ALLOWED_HOSTS says otherwise (a DNS-rebinding page cannot reach it)."""
    from app.http_headers import LOOPBACK_HOSTS

    if not settings.allowed_hosts and settings.host in LOOPBACK_HOSTS:
        return settings.model_copy(update={"allowed_hosts": list(LOOPBACK_HOSTS)})
    return settings
