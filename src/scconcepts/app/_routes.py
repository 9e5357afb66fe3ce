"""The explorer's routes: the page and static-file routes, and the annotation routes."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
from fastapi import APIRouter, HTTPException, Query, Response

from scconcepts.app import _pages
from scconcepts.app._agreement import agreement
from scconcepts.app._annotations import Annotation, AnnotationStore
from scconcepts.app._data import ConceptResults

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


def _concept_id(data: ConceptResults, cid: int) -> int:
    if not data.has_concept(cid):
        raise HTTPException(404, f"no concept {cid}; ids run from 0 to {data.n_concepts - 1}")
    return cid


def add_page_routes(router: APIRouter, data: ConceptResults) -> None:
    """Add to ``router`` the routes of the single-page app, its static files and the data its pages show (read only).

    ``create_app`` passes the app's own router: routes added there are listed in ``app.routes`` (which the fuzz test
    walks), where an included router shows as one opaque entry.
    """

    def concept_id(cid: int) -> int:
        return _concept_id(data, cid)

    def neuron_id(dim: int) -> int:
        if not data.has_neuron(dim):
            raise HTTPException(404, f"no embedding dimension {dim}")
        return dim

    @lru_cache(maxsize=8)
    def neuron_bytes(dim: int) -> bytes:
        return pack_values(*data.on_map(*data.neuron_values(dim)))

    @router.get("/", include_in_schema=False)
    def index() -> Response:
        return Response(_static("index.html"), media_type=STATIC_FILES["index.html"][1])

    @router.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response(status_code=204)

    @router.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        if name not in STATIC_FILES:
            raise HTTPException(404, "not found")
        return Response(_static(name), media_type=STATIC_FILES[name][1], headers={"cache-control": "no-cache"})

    @router.get("/api/info")
    def get_info() -> dict[str, Any]:
        return _pages.info(data)

    @router.get("/api/umap")
    def get_umap() -> Response:
        return Response(data.map_points.astype("<f4").tobytes(), media_type=BINARY)

    @router.get("/api/concepts")
    def get_catalogue() -> list[dict[str, Any]]:
        return _pages.catalogue(data)

    @router.get("/api/concepts/{cid}")
    def get_concept(cid: int) -> dict[str, Any]:
        return _pages.concept(data, concept_id(cid))

    @router.get("/api/concepts/{cid}/activations")
    def get_concept_values(cid: int) -> Response:
        return Response(pack_values(*data.on_map(*data.concept_values(concept_id(cid)))), media_type=BINARY)

    @router.get("/api/concepts/{cid}/token-mean")
    def get_concept_token_mean(cid: int) -> Response:
        cid = concept_id(cid)
        if data.token.mean is None:
            raise HTTPException(404, "no per-cell mean over tokens: not a token run")
        return Response(pack_values(*data.on_map(*data.token.mean_values(cid))), media_type=BINARY)

    @router.get("/api/neurons/{dim}")
    def get_neuron(dim: int) -> dict[str, Any]:
        return _pages.neuron(data, neuron_id(dim))

    @router.get("/api/neurons/{dim}/activations")
    def get_neuron_values(dim: int) -> Response:
        return Response(neuron_bytes(neuron_id(dim)), media_type=BINARY)

    @router.get("/api/genes")
    def get_genes(q: str = Query("", max_length=100)) -> list[str]:
        return _pages.search_genes(data, q)

    # declared before the gene page, whose {name:path} would take ".../expression" too
    @router.get("/api/genes/{name:path}/expression")
    def get_gene_values(name: str) -> Response:
        if name not in data.gene_index:
            raise HTTPException(404, "no such gene")
        return Response(pack_values(*data.on_map(*data.gene_values(name))), media_type=BINARY)

    @router.get("/api/genes/{name:path}")
    def get_gene(name: str) -> dict[str, Any]:
        if name not in data.gene_index:
            raise HTTPException(404, "no such gene")
        return _pages.gene(data, name)

    @router.get("/api/cell-types")
    def get_cell_types() -> list[dict[str, Any]] | None:
        return _pages.cell_types(data)

    @router.get("/api/cell-types/{name:path}")
    def get_cell_type(name: str) -> dict[str, Any]:
        if data.cell_types is None or name not in set(data.cell_types.categories):
            raise HTTPException(404, "no such cell type")
        return _pages.cell_type(data, name)


def add_annotation_routes(router: APIRouter, data: ConceptResults, store: AnnotationStore) -> None:
    """Add to ``router`` the routes that read and change the experts' annotations and their agreement with labels."""

    def concept_id(cid: int) -> int:
        return _concept_id(data, cid)

    def automatic() -> dict[int, str]:
        return {cid: data.label(cid) for cid in range(data.n_concepts)}

    @router.get("/api/annotations")
    def get_annotations() -> dict[str, dict[str, Any]]:
        return store.all()

    @router.put("/api/annotations/{cid}")
    def put_annotation(cid: int, annotation: Annotation) -> dict[str, Any]:
        return store.save(concept_id(cid), annotation)

    @router.delete("/api/annotations/{cid}")
    def delete_annotation(cid: int) -> dict[str, bool]:
        return {"deleted": store.delete(concept_id(cid))}

    @router.get("/api/annotations.csv")
    def get_annotations_csv() -> Response:
        return Response(
            store.to_csv(automatic()).encode("utf-8", "replace"),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": 'attachment; filename="annotations.csv"'},
        )

    @router.get("/api/agreement")
    def get_agreement() -> dict[str, Any]:
        concepts = {key: rec for key, rec in store.all().items() if _concept_key(key) is not None}
        return agreement(concepts, automatic())
