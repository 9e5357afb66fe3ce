"""The explorer's web server: a FastAPI app over one results folder, and ways to run it."""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import FastAPI, HTTPException, Query
from fastapi.responses import PlainTextResponse, Response

from scconcepts.app import _pages
from scconcepts.app._agreement import agreement
from scconcepts.app._annotations import Annotation, AnnotationStore
from scconcepts.app._data import ConceptResults
from scconcepts.app._security import LOOPBACK_HOSTS, Guard

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
}
BINARY = "application/octet-stream"


@lru_cache(maxsize=len(STATIC_FILES))
def _static(name: str) -> bytes:
    return resources.files("scconcepts.app").joinpath("static", STATIC_FILES[name][0]).read_bytes()


def pack_values(cells: np.ndarray, values: np.ndarray) -> bytes:
    """Binary activations: ``uint32 n``, ``n`` uint32 cell indices, ``n`` float32 values (little endian)."""
    head = np.array([cells.size], dtype="<u4").tobytes()
    return head + cells.astype("<u4").tobytes() + values.astype("<f4").tobytes()


def create_app(folder: str | Path, *, allowed_hosts: list[str] | None = None) -> Guard:
    """Build the explorer application for a results folder.

    Parameters
    ----------
    folder
        Results folder written by ``scconcepts run``.
    allowed_hosts
        Host names accepted in requests (``None``: any); :func:`serve` sets loopback names when it
        binds to a loopback address.

    Returns
    -------
    An ASGI application (the FastAPI app wrapped in the request guard).

    """
    data = ConceptResults(folder)
    store = AnnotationStore(data.folder)
    api = FastAPI(title="scconcepts explorer", docs_url=None, redoc_url=None, openapi_url=None)
    api.state.data = data

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
        return pack_values(*data.neuron_values(dim))

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
        return Response(data.umap.astype("<f4").tobytes(), media_type=BINARY)

    @api.get("/api/concepts")
    def get_catalogue() -> list[dict[str, Any]]:
        return _pages.catalogue(data)

    @api.get("/api/concepts/{cid}")
    def get_concept(cid: int) -> dict[str, Any]:
        return _pages.concept(data, concept_id(cid))

    @api.get("/api/concepts/{cid}/activations")
    def get_concept_values(cid: int) -> Response:
        return Response(pack_values(*data.concept_values(concept_id(cid))), media_type=BINARY)

    @api.get("/api/neurons/{dim}")
    def get_neuron(dim: int) -> dict[str, Any]:
        return _pages.neuron(data, neuron_id(dim))

    @api.get("/api/neurons/{dim}/activations")
    def get_neuron_values(dim: int) -> Response:
        return Response(neuron_bytes(neuron_id(dim)), media_type=BINARY)

    @api.get("/api/genes")
    def get_genes(q: str = Query("", max_length=100)) -> list[str]:
        return _pages.search_genes(data, q)

    @api.get("/api/genes/{name}")
    def get_gene(name: str) -> dict[str, Any]:
        if name not in data.gene_index:
            raise HTTPException(404, "no such gene")
        return _pages.gene(data, name)

    @api.get("/api/cell-types")
    def get_cell_types() -> list[dict[str, Any]] | None:
        return _pages.cell_types(data)

    @api.get("/api/cell-types/{name}")
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
    def get_annotations_csv() -> PlainTextResponse:
        return PlainTextResponse(
            store.to_csv(automatic()),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": 'attachment; filename="annotations.csv"'},
        )

    @api.get("/api/agreement")
    def get_agreement() -> dict[str, Any]:
        return agreement(store.all(), automatic())

    return Guard(api, allowed_hosts=allowed_hosts)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _config(folder: str | Path, host: str, sock: socket.socket | None, port: int, log_level: str) -> Any:
    import uvicorn

    allowed = sorted(LOOPBACK_HOSTS) if _is_loopback(host) else None
    app = create_app(folder, allowed_hosts=allowed)
    return uvicorn.Config(app, host=host, port=port, log_level=log_level, access_log=False, lifespan="off")


def serve(folder: str | Path, *, host: str = "127.0.0.1", port: int = 8000, log_level: str = "warning") -> None:
    """Serve the explorer for ``folder`` until interrupted (binds to ``host``, localhost by default)."""
    import uvicorn

    config = _config(folder, host, None, port, log_level)
    if not _is_loopback(host):
        logger.warning("serving on %s: anyone who can reach this address can read and annotate the results", host)
    logger.info("explorer for %s at http://%s:%d/", Path(folder).resolve(), host, port)
    uvicorn.Server(config).run()


@dataclass
class RunningServer:
    """A server running in a background thread (see :func:`start_server`)."""

    url: str
    server: Any
    thread: threading.Thread

    def stop(self) -> None:
        """Ask the server to exit and wait for its thread."""
        self.server.should_exit = True
        self.thread.join(timeout=10)


def start_server(folder: str | Path, *, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
    """Start the explorer in a background thread (``port=0``: a free port) and return its URL.

    Parameters
    ----------
    folder
        Results folder.
    host, port
        Where to listen.

    """
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    config = _config(folder, host, sock, sock.getsockname()[1], "warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the explorer server did not start")
        time.sleep(0.02)
    return RunningServer(url=f"http://{host}:{sock.getsockname()[1]}/", server=server, thread=thread)
