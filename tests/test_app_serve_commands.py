"""`zonescope serve` (app/cli/serve_commands.py): registered, and the uvicorn settings the server needs."""

from __future__ import annotations

from app.cli import build_parser
from app.cli.serve_commands import cmd_serve, uvicorn_config
from app.main import create_app
from app.settings import Settings


def test_serve_is_registered_with_host_and_port() -> None:
    args = build_parser().parse_args(["serve", "--host", "0.0.0.0", "--port", "9123"])
    assert args.handler is cmd_serve and (args.host, args.port) == ("0.0.0.0", 9123)
    defaults = build_parser().parse_args(["serve"])
    assert defaults.host is None and defaults.port is None  # then Settings (env ZONESCOPE_*) decide


def test_uvicorn_config_compresses_nothing_per_connection_and_accepts_small_messages() -> None:
    cfg = uvicorn_config(create_app(Settings()), "127.0.0.1", 0, 65536)
    assert cfg.ws_per_message_deflate is False
    assert cfg.ws_max_size == 65536 + 1024
    assert cfg.timeout_graceful_shutdown is not None and cfg.timeout_graceful_shutdown <= 10


def test_settings_from_the_environment(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ZONESCOPE_MAX_VIEWERS", "7")
    monkeypatch.setenv("ZONESCOPE_ALLOWED_ORIGINS", '["http://class.example:8000"]')
    s = Settings()
    assert s.max_viewers == 7 and s.allowed_origins == ["http://class.example:8000"]


def test_bad_settings_are_a_clean_error(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    from app.cli import main

    monkeypatch.setenv("ZONESCOPE_MAX_VIEWERS", "lots")
    assert main(["serve", "--port", "0"]) == 2
    assert "ZONESCOPE_MAX_VIEWERS" in capsys.readouterr().err


def test_a_bad_port_option_is_named_as_the_option(capsys) -> None:  # type: ignore[no-untyped-def]
    from app.cli import main

    assert main(["serve", "--port", "99999"]) == 2
    err = capsys.readouterr().err
    assert "--port: " in err and "65535" in err and "99999" in err


def test_a_loopback_server_answers_to_loopback_names_only_unless_configured() -> None:
    from app.cli.serve_commands import with_host_defaults

    assert with_host_defaults(Settings(host="127.0.0.1")).allowed_hosts == ["localhost", "127.0.0.1", "::1"]
    assert with_host_defaults(Settings(host="0.0.0.0")).allowed_hosts == []  # a public bind: configure it
    assert with_host_defaults(Settings(host="127.0.0.1", allowed_hosts=["class.example"])).allowed_hosts == [
        "class.example"
    ]


def test_a_request_head_over_the_cap_is_refused_by_the_real_server() -> None:
    # issue 19: an 8 MiB header was read whole (httptools); h11 with a head cap closes it
    import socket
    import threading
    import time

    import uvicorn

    from app.cli.serve_commands import MAX_REQUEST_HEAD_BYTES

    server = uvicorn.Server(uvicorn_config(create_app(Settings()), "127.0.0.1", 0, 65536, "critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]

    def ask(header_bytes: int) -> bytes:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: " + b"a" * header_bytes + b"\r\n\r\n"
            try:
                s.sendall(head)
                return s.recv(64)
            except ConnectionError:
                return b""

    try:
        assert ask(4096).startswith(b"HTTP/1.1 200")
        refused = ask(32 * MAX_REQUEST_HEAD_BYTES)
        assert not refused.startswith(b"HTTP/1.1 200")  # a 400 or the connection closed
    finally:
        server.should_exit = True
        thread.join(10)
