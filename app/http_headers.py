"""Security headers on every HTTP response, and the Host allowlist (DNS rebinding).

`SecurityHeaders`, a pure ASGI middleware, adds the headers a route did not set itself, so the pages
keep their own Content-Security-Policy and Cache-Control. WebSocket and lifespan traffic pass through
untouched.

`HostAllowlist` answers only requests whose Host header names this server (`Settings.allowed_hosts`;
`zonescope serve` bound to a loopback address allows the loopback names). A web page on another
domain that resolves to 127.0.0.1 (DNS rebinding) sends its own name as Host: an HTTP request gets
400 with one line, a socket is closed before it opens (1008, with the reason).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: added to every HTTP response unless the route set the header itself
DEFAULT_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"SAMEORIGIN"),
)


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                have = {name.lower() for name, _ in headers}
                headers += [(k, v) for k, v in DEFAULT_HEADERS if k not in have]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


#: the names a server bound to a loopback address answers to by default
LOOPBACK_HOSTS: tuple[str, ...] = ("localhost", "127.0.0.1", "::1")


def host_name(value: str) -> str:
    """The name in a Host header, without its port (``[::1]:8000`` -> ``::1``), lower case."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class HostAllowlist:
    def __init__(self, app: ASGIApp, allowed: list[str]) -> None:
        self.app = app
        self.allowed = {host_name(h) for h in allowed}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or not self.allowed:
            await self.app(scope, receive, send)
            return
        raw = dict(scope.get("headers", [])).get(b"host", b"").decode("latin-1")
        name = host_name(raw)
        if name in self.allowed:
            await self.app(scope, receive, send)
            return
        allowed = ", ".join(sorted(self.allowed))
        reason = f"host: {raw[:80]!r} is not a name this server answers to (allowed: {allowed})"
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": reason[:120]})
            return
        body = (reason + "\n").encode()
        await send({"type": "http.response.start", "status": 400, "headers": [
            (b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()),
            *DEFAULT_HEADERS]})
        await send({"type": "http.response.body", "body": body})
