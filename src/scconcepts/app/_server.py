"""The explorer's web server: a FastAPI app over one results folder, and ways to run it."""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from scconcepts.app._annotations import AnnotationsError, AnnotationStore
from scconcepts.app._data import ConceptResults
from scconcepts.app._routes import add_annotation_routes, add_page_routes
from scconcepts.app._security import LOOPBACK_HOSTS, Guard, new_token
from scconcepts.app._steering import steering_router

logger = logging.getLogger(__name__)

#: Host values that mean "every interface".
WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})


class AsciiJSONResponse(JSONResponse):
    """JSON with non-ASCII text escaped: a lone surrogate in a hand-edited ``annotations.json`` cannot break it."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


async def _validation_error(request: Request, error: Exception) -> JSONResponse:
    """422 naming where and what was wrong, without echoing the input (which may not be JSON-serialisable)."""
    assert isinstance(error, RequestValidationError)
    detail = [
        {"loc": [str(part) for part in item.get("loc", ())], "msg": str(item.get("msg", "")), "type": item.get("type")}
        for item in error.errors()
    ]
    return AsciiJSONResponse({"detail": detail}, status_code=422)


def create_app(folder: str | Path, *, allowed_hosts: list[str] | None = None, token: str | None = None) -> Guard:
    """Build the explorer application for a results folder.

    Parameters
    ----------
    folder
        Results folder written by ``scconcepts run``.
    allowed_hosts
        Host names accepted in requests (``None``: any); :func:`serve` sets loopback names when it
        binds to a loopback address.
    token
        Access token that every request must carry (see :class:`~scconcepts.app._security.Guard`);
        :func:`serve` makes one whenever the server is reachable from other machines.

    Returns
    -------
    An ASGI application (the FastAPI app wrapped in the request guard).

    """
    data = ConceptResults(folder)
    store = AnnotationStore(data.folder)
    api = FastAPI(
        title="scconcepts explorer",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        default_response_class=AsciiJSONResponse,
        exception_handlers={RequestValidationError: _validation_error},
    )
    api.state.data = data

    @api.exception_handler(AnnotationsError)
    def annotations_unusable(request: Any, error: AnnotationsError) -> JSONResponse:
        logger.error("%s", error)
        return JSONResponse({"detail": str(error)}, status_code=409)

    add_page_routes(api.router, data)
    add_annotation_routes(api.router, data, store)
    api.include_router(steering_router(data))
    return Guard(api, allowed_hosts=allowed_hosts, token=token)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def host_names(host: str, extra: Iterable[str] = ()) -> list[str]:
    """Host names a server bound to ``host`` answers to (the ``Host`` header check against DNS rebinding).

    A loopback address answers to the loopback names; a named address to its name; every interface
    (``0.0.0.0``, ``::``) to the loopback names, the machine's names and addresses. ``extra`` adds
    more (the names a reverse proxy or a DNS alias uses).
    """
    names = {name.lower().strip("[]") for name in extra}
    if _is_loopback(host):
        return sorted(names | LOOPBACK_HOSTS)
    if host not in WILDCARD_HOSTS:
        return sorted(names | {host.lower().strip("[]")})
    names |= LOOPBACK_HOSTS
    for name in {socket.gethostname(), socket.getfqdn()}:
        names.add(name.lower())
        try:
            names.update(str(info[4][0]).lower() for info in socket.getaddrinfo(name, None))
        except OSError:
            continue
    return sorted(names)


def _config(
    folder: str | Path,
    host: str,
    port: int,
    log_level: str,
    *,
    token: str | None,
    allow_hosts: Iterable[str],
) -> Any:
    import uvicorn

    app = create_app(folder, allowed_hosts=host_names(host, allow_hosts), token=token)
    return uvicorn.Config(app, host=host, port=port, log_level=log_level, access_log=False, lifespan="off")


def needs_token(host: str) -> bool:
    """Whether a server bound to ``host`` is reachable from other machines (and so asks for a token)."""
    return not _is_loopback(host)


def explorer_urls(host: str, port: int, token: str | None) -> list[str]:
    """The addresses to open in a browser (with ``?token=`` when there is one), the most useful first."""
    query = f"?token={token}" if token else ""
    if host in WILDCARD_HOSTS:
        return [f"http://{socket.gethostname()}:{port}/{query}", f"http://127.0.0.1:{port}/{query}"]
    shown = f"[{host}]" if ":" in host else host
    return [f"http://{shown}:{port}/{query}"]


def serve(
    folder: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    log_level: str = "warning",
    token: str | None = None,
    allow_hosts: Iterable[str] = (),
) -> None:
    """Serve the explorer for ``folder`` until interrupted (binds to ``host``, localhost by default).

    Parameters
    ----------
    folder
        Results folder.
    host, port
        Where to listen; a host other than loopback makes the server reachable from other machines,
        so every request must then carry the access ``token``.
    log_level
        Uvicorn's log level.
    token
        Access token for a non-loopback host; ``None`` makes one (logged with the address to open).
    allow_hosts
        More host names to answer to (see :func:`host_names`).

    """
    import uvicorn

    if needs_token(host) and token is None:
        token = new_token()
        logger.warning("the explorer asks for a token: open %s", explorer_urls(host, port, token)[0])
    config = _config(folder, host, port, log_level, token=token if needs_token(host) else None, allow_hosts=allow_hosts)
    logger.info("explorer for %s at %s", Path(folder).resolve(), explorer_urls(host, port, None)[0])
    uvicorn.Server(config).run()


@dataclass
class RunningServer:
    """A server running in a background thread (see :func:`start_server`)."""

    url: str
    server: Any
    thread: threading.Thread
    token: str | None = None

    def stop(self) -> None:
        """Ask the server to exit and wait for its thread."""
        self.server.should_exit = True
        self.thread.join(timeout=10)


def start_server(
    folder: str | Path, *, host: str = "127.0.0.1", port: int = 0, allow_hosts: Iterable[str] = ()
) -> RunningServer:
    """Start the explorer in a background thread (``port=0``: a free port) and return its URL.

    Parameters
    ----------
    folder
        Results folder.
    host, port
        Where to listen; a non-loopback host gets a fresh access token, in the returned URL and ``token``.
    allow_hosts
        More host names to answer to.

    """
    import uvicorn

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    port = sock.getsockname()[1]
    token = new_token() if needs_token(host) else None
    config = _config(folder, host, port, "warning", token=token, allow_hosts=allow_hosts)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the explorer server did not start")
        time.sleep(0.02)
    shown = "127.0.0.1" if host in WILDCARD_HOSTS else host
    return RunningServer(url=explorer_urls(shown, port, token)[0], server=server, thread=thread, token=token)
