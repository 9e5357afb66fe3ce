"""ASGI guard in front of the explorer: host, token and origin checks, bounded strict-JSON bodies, security headers."""

from __future__ import annotations

import hmac
import json
import math
import secrets
from collections.abc import Awaitable, Callable, Iterable
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

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
DEFAULT_PORTS = {"http": 80, "https": 443}
#: Cookie that keeps the access token after the first ``?token=`` visit (the server's port is appended).
TOKEN_COOKIE = "scconcepts_token"

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


def _origin(scheme: str, netloc: str) -> tuple[str, str, int] | None:
    """``(scheme, host, port)`` of a URL's parts, the port filled in from the scheme; ``None`` if malformed."""
    if scheme not in DEFAULT_PORTS:
        return None
    try:
        parsed = urlsplit(f"//{netloc}")
        port = parsed.port or DEFAULT_PORTS[scheme]
    except ValueError:
        return None
    if not parsed.hostname:
        return None
    return scheme, parsed.hostname.lower(), port


def same_origin(origin: str, scheme: str, host: str) -> bool:
    """Whether an ``Origin`` header names this server (same scheme, host and port as the request).

    Parameters
    ----------
    origin
        The ``Origin`` header, e.g. ``http://127.0.0.1:8000``.
    scheme
        The request's scheme (``http`` or ``https``).
    host
        The request's ``Host`` header (name and optional port).

    """
    parts = urlsplit(origin)
    theirs = _origin(parts.scheme.lower(), parts.netloc)
    return theirs is not None and theirs == _origin(scheme, host)


def json_problem(body: bytes) -> str | None:
    """Why ``body`` is not strict JSON that the server can store and send back; ``None`` when it is.

    Python's JSON reader accepts ``NaN``, ``Infinity``, numbers that overflow to infinity (``1e400``)
    and escaped lone surrogates (a backslash-u escape of ``D800``); none of them can be written back as JSON or UTF-8.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "the request body is not UTF-8 text"

    def refuse_constant(name: str) -> Any:
        raise ValueError(f"{name} is not a JSON number")

    def finite(literal: str) -> float:
        value = float(literal)
        if not math.isfinite(value):
            raise ValueError(f"{literal[:20]} is too large for a number")
        return value

    try:
        value = json.loads(text, parse_constant=refuse_constant, parse_float=finite)
    except RecursionError:
        return "the request body is nested too deeply"
    except ValueError as error:
        return f"the request body is not valid JSON: {error}"
    if not _encodable(value):
        return "the request body holds text that is not valid Unicode (a lone surrogate)"
    return None


def _encodable(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return False
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return True


def new_token() -> str:
    """A fresh random access token for a server that others on the network can reach."""
    return secrets.token_urlsafe(24)


async def _reply(send: Send, status: int, detail: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    base = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": base + (headers or []) + SECURITY_HEADERS})
    await send({"type": "http.response.body", "body": body})


class Guard:
    """Wrap an ASGI app: foreign hosts (400), missing token (401), large bodies (413), cross-origin writes (403).

    Parameters
    ----------
    app
        The application to protect.
    max_body
        Largest body accepted, in bytes (declared or streamed).
    allowed_hosts
        Host names accepted in the ``Host`` header; ``None`` accepts any.
    token
        Access token every request must carry, as ``?token=`` (then kept in a cookie), an
        ``Authorization: token ...`` (or ``Bearer``) header or the cookie; ``None`` asks for none.

    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body: int = MAX_BODY,
        allowed_hosts: Iterable[str] | None = None,
        token: str | None = None,
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.allowed_hosts = None if allowed_hosts is None else frozenset(h.lower() for h in allowed_hosts)
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = _host_name(headers.get("host", ""))
        if self.allowed_hosts is not None and host not in self.allowed_hosts:
            await _reply(send, 400, f"unknown host {host[:100]!r}; start the explorer with --allow-host {host[:100]}")
            return
        if self.token is not None and not await self._authorised(scope, headers, send):
            return
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body):
            await _reply(send, 413, f"request body larger than {self.max_body} bytes")
            return
        if scope["method"] in UNSAFE_METHODS:
            origin = headers.get("origin")
            if origin is not None and not same_origin(origin, scope.get("scheme", "http"), headers.get("host", "")):
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
            kind = headers.get("content-type", "application/json").lower()
            problem = json_problem(bytes(body)) if body and "json" in kind else None
            if problem is not None:
                await _reply(send, 422, problem)
                return
            receive = _replay(bytes(body), receive)
        await self.app(scope, receive, _with_headers(send))

    async def _authorised(self, scope: Scope, headers: dict[str, str], send: Send) -> bool:
        """Check the token; answer the request (redirect or 401) and return False when it must stop here."""
        assert self.token is not None
        cookie_name = f"{TOKEN_COOKIE}_{(scope.get('server') or ('', 0))[1]}"
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        if _matches(self.token, (query.get("token") or [None])[0]):
            if scope["method"] in ("GET", "HEAD"):
                # keep it in a cookie and take it out of the address bar (and of the browser history)
                rest = urlencode([(k, v) for k, values in query.items() if k != "token" for v in values], doseq=True)
                location = scope.get("root_path", "") + scope["path"] + (f"?{rest}" if rest else "")
                cookie = f"{cookie_name}={self.token}; Path=/; HttpOnly; SameSite=Strict"
                extra = [(b"location", location.encode("latin-1", "replace")), (b"set-cookie", cookie.encode())]
                await _reply(send, 303, "token accepted", extra)
                return False
            return True
        scheme, _, credential = headers.get("authorization", "").partition(" ")
        if scheme.lower() in ("token", "bearer") and _matches(self.token, credential.strip()):
            return True
        jar = SimpleCookie()
        try:
            jar.load(headers.get("cookie", ""))
        except CookieError:
            jar = SimpleCookie()
        if cookie_name in jar and _matches(self.token, jar[cookie_name].value):
            return True
        await _reply(send, 401, "this explorer needs its access token: open the address `scconcepts serve` printed")
        return False


def _matches(token: str, supplied: str | None) -> bool:
    return supplied is not None and hmac.compare_digest(token.encode(), supplied.encode("utf-8", "replace"))


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
