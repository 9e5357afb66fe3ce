"""ASGI guard in front of the explorer: bounded request bodies, host and origin checks, security headers."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Largest request body accepted (bytes); an annotation is far smaller.
MAX_BODY = 64 * 1024
#: Host names that a server bound to the loopback interface answers to (blocks DNS rebinding).
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        b"connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


def _host_name(value: str) -> str:
    """Host name of a ``Host`` header value or URL netloc, without port or IPv6 brackets."""
    parsed = urlsplit(f"//{value}")
    return (parsed.hostname or "").lower()


async def _reply(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + SECURITY_HEADERS})
    await send({"type": "http.response.body", "body": body})


class Guard:
    """Wrap an ASGI app: reject bodies over ``max_body`` (413), foreign hosts (400) and cross-origin writes (403).

    Parameters
    ----------
    app
        The application to protect.
    max_body
        Largest body accepted, in bytes (declared or streamed).
    allowed_hosts
        Host names accepted in the ``Host`` header; ``None`` accepts any.

    """

    def __init__(self, app: ASGIApp, *, max_body: int = MAX_BODY, allowed_hosts: Iterable[str] | None = None) -> None:
        self.app = app
        self.max_body = max_body
        self.allowed_hosts = None if allowed_hosts is None else frozenset(h.lower() for h in allowed_hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = _host_name(headers.get("host", ""))
        if self.allowed_hosts is not None and host not in self.allowed_hosts:
            await _reply(send, 400, "unknown host")
            return
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body):
            await _reply(send, 413, f"request body larger than {self.max_body} bytes")
            return
        if scope["method"] in UNSAFE_METHODS:
            origin = headers.get("origin")
            if origin is not None and _host_name(urlsplit(origin).netloc) != host:
                await _reply(send, 403, "cross-origin write refused")
                return
            body = bytearray()
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    return
                body += message.get("body", b"")
                if len(body) > self.max_body:
                    await _reply(send, 413, f"request body larger than {self.max_body} bytes")
                    return
                if not message.get("more_body", False):
                    break
            receive = _replay(bytes(body), receive)
        await self.app(scope, receive, _with_headers(send))


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _with_headers(send: Send) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            names = {k.lower() for k, _ in message.get("headers", [])}
            extra = [(k, v) for k, v in SECURITY_HEADERS if k not in names]
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        await send(message)

    return wrapped
