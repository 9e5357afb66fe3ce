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
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from scconcepts.app import _pages
from scconcepts.app._agreement import agreement
from scconcepts.app._annotations import Annotation, AnnotationsError, AnnotationStore
from scconcepts.app._data import ConceptResults
from scconcepts.app._security import LOOPBACK_HOSTS, Guard, new_token
from scconcepts.app._steering import steering_router

logger = logging.getLogger(__name__)

#: The only files the server sends from disk: URL name -> (file in the package's static folder, media type).
STATIC_FILES: dict[str, tuple[str, str]] = {
    "index.html": ("index.html", "text/html; charset=utf-8"),
    "style.css": ("style.css", "text/css; charset=utf-8"),
    "app.js": ("app.js", "text/javascript; charset=utf-8"),
    "api.js": ("api.js", "text/javascript; charset=utf-8"),
    "dom.js": ("dom.js", "text/javascript; charset=utf-8"),
    "charts.js": ("charts.js", "text/javascript; charset=utf-8"),
    "scatter.js": ("scatter.js", "text/javascript; charset=utf-8"),
    "pages.js": ("pages.js", "text/javascript; charset=utf-8"),
    "catalogue.js": ("catalogue.js", "text/javascript; charset=utf-8"),
    "annotate.js": ("annotate.js", "text/javascript; charset=utf-8"),
    "steering.js": ("steering.js", "text/javascript; charset=utf-8"),
}
BINARY = "application/octet-stream"
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


def _concept_key(key: str) -> int | None:
    """A concept id from an ``annotations.json`` key, ``None`` for keys that name no concept (hand edits)."""
    return int(key) if key.isascii() and key.isdigit() else None


@lru_cache(maxsize=len(STATIC_FILES))
def _static(name: str) -> bytes:
    return resources.files("scconcepts.app").joinpath("static", STATIC_FILES[name][0]).read_bytes()


def pack_values(cells: np.ndarray, values: np.ndarray) -> bytes:
    """Binary activations: ``uint32 n``, ``n`` uint32 cell indices, ``n`` float32 values (little endian)."""
    head = np.array([cells.size], dtype="<u4").tobytes()
    return head + cells.astype("<u4").tobytes() + values.astype("<f4").tobytes()


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

    def concept_id(cid: int) -> int:
        if not data.has_concept(cid):
            raise HTTPException(404, f"no concept {cid}; ids run from 0 to {data.n_concepts - 1}")
        return cid

    def neuron_id(dim: int) -> int:
        if not data.has_neuron(dim):
            raise HTTPException(404, f"no embedding dimension {dim}")
        return dim

    def automatic() -> dict[int, str]:
        return {cid: data.label(cid) for cid in range(data.n_concepts)}

    @lru_cache(maxsize=8)
    def neuron_bytes(dim: int) -> bytes:
        return pack_values(*data.on_map(*data.neuron_values(dim)))

    @api.get("/", include_in_schema=False)
    def index() -> Response:
        return Response(_static("index.html"), media_type=STATIC_FILES["index.html"][1])

    @api.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response(status_code=204)

    @api.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        if name not in STATIC_FILES:
            raise HTTPException(404, "not found")
        return Response(_static(name), media_type=STATIC_FILES[name][1], headers={"cache-control": "no-cache"})

    @api.get("/api/info")
    def get_info() -> dict[str, Any]:
        return _pages.info(data)

    @api.get("/api/umap")
    def get_umap() -> Response:
        return Response(data.map_points.astype("<f4").tobytes(), media_type=BINARY)

    @api.get("/api/concepts")
    def get_catalogue() -> list[dict[str, Any]]:
        return _pages.catalogue(data)

    @api.get("/api/concepts/{cid}")
    def get_concept(cid: int) -> dict[str, Any]:
        return _pages.concept(data, concept_id(cid))

    @api.get("/api/concepts/{cid}/activations")
    def get_concept_values(cid: int) -> Response:
        return Response(pack_values(*data.on_map(*data.concept_values(concept_id(cid)))), media_type=BINARY)

    @api.get("/api/neurons/{dim}")
    def get_neuron(dim: int) -> dict[str, Any]:
        return _pages.neuron(data, neuron_id(dim))

    @api.get("/api/neurons/{dim}/activations")
    def get_neuron_values(dim: int) -> Response:
        return Response(neuron_bytes(neuron_id(dim)), media_type=BINARY)

    @api.get("/api/genes")
    def get_genes(q: str = Query("", max_length=100)) -> list[str]:
        return _pages.search_genes(data, q)

    # declared before the gene page, whose {name:path} would take ".../expression" too
    @api.get("/api/genes/{name:path}/expression")
    def get_gene_values(name: str) -> Response:
        if name not in data.gene_index:
            raise HTTPException(404, "no such gene")
        return Response(pack_values(*data.on_map(*data.gene_values(name))), media_type=BINARY)

    @api.get("/api/genes/{name:path}")
    def get_gene(name: str) -> dict[str, Any]:
        if name not in data.gene_index:
            raise HTTPException(404, "no such gene")
        return _pages.gene(data, name)

    @api.get("/api/cell-types")
    def get_cell_types() -> list[dict[str, Any]] | None:
        return _pages.cell_types(data)

    @api.get("/api/cell-types/{name:path}")
    def get_cell_type(name: str) -> dict[str, Any]:
        if data.cell_types is None or name not in set(data.cell_types.categories):
            raise HTTPException(404, "no such cell type")
        return _pages.cell_type(data, name)

    @api.get("/api/annotations")
    def get_annotations() -> dict[str, dict[str, Any]]:
        return store.all()

    @api.put("/api/annotations/{cid}")
    def put_annotation(cid: int, annotation: Annotation) -> dict[str, Any]:
        return store.save(concept_id(cid), annotation)

    @api.delete("/api/annotations/{cid}")
    def delete_annotation(cid: int) -> dict[str, bool]:
        return {"deleted": store.delete(concept_id(cid))}

    @api.get("/api/annotations.csv")
    def get_annotations_csv() -> Response:
        return Response(
            store.to_csv(automatic()).encode("utf-8", "replace"),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": 'attachment; filename="annotations.csv"'},
        )

    @api.get("/api/agreement")
    def get_agreement() -> dict[str, Any]:
        concepts = {key: rec for key, rec in store.all().items() if _concept_key(key) is not None}
        return agreement(concepts, automatic())

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
