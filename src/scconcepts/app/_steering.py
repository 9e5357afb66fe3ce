"""The explorer's "what if" endpoint: steer a concept on demand (off / x2) and send genes and map moves."""

from __future__ import annotations

import logging
import threading
from typing import Any

import numpy as np
from fastapi import APIRouter, HTTPException, Query

from scconcepts._errors import InputError
from scconcepts.app._data import ConceptResults

logger = logging.getLogger(__name__)

#: Steering values the explorer offers.
VALUES = ("off", "x2")
N_GENES = 10
N_NULL = 5
#: Most cells whose move is drawn, and background cells sent for the map.
MAX_MOVES = 400
MAX_BACKGROUND = 3000


class Steerer:
    """Loads the run's cells, model and SAE once, and steers concepts of a results folder on request."""

    def __init__(self, data: ConceptResults) -> None:
        self.data = data
        self._lock = threading.Lock()
        self._loaded: tuple[Any, Any, Any] | None = None
        self._cache: dict[tuple[Any, ...], dict[str, Any]] = {}

    def load(self) -> tuple[Any, Any, Any]:
        from scconcepts.models import load_encoder
        from scconcepts.results import MODEL_DIR, SAE_DIR, read_results
        from scconcepts.sae import load_sae

        if self._loaded is None:
            folder = self.data.folder
            if not (folder / MODEL_DIR).is_dir() or not (folder / SAE_DIR).is_dir():
                raise InputError("this results folder has no saved model and SAE, so concepts cannot be steered")
            self._loaded = (read_results(folder), load_encoder(folder / MODEL_DIR), load_sae(folder / SAE_DIR))
        return self._loaded

    def steer(self, cid: int, value: str) -> dict[str, Any]:
        """The explorer's document for concept ``cid`` steered to ``value`` (cached)."""
        with self._lock:
            if (cid, value) not in self._cache:
                self._cache[(cid, value)] = self._compute(cid, value)
            return self._cache[(cid, value)]

    def toward(self, cells: str, toward: str) -> dict[str, Any]:
        """The explorer's document for ``cells`` steered toward ``toward`` (cached)."""
        from scconcepts.app._steering_toward import toward_document

        with self._lock:
            if ("toward", cells, toward) not in self._cache:
                self._cache[("toward", cells, toward)] = toward_document(self, cells, toward)
            return self._cache[("toward", cells, toward)]

    def _compute(self, cid: int, value: str) -> dict[str, Any]:
        from scconcepts import tl
        from scconcepts.steering._gene_effects import top_genes

        adata, encoder, sae = self.load()
        note = ""
        expression = encoder.decodes_to is not None
        if not expression:
            note = f"the {encoder.name} model has no expression decoder: embedding shift and map only"
        result = tl.steer(
            adata,
            concept=cid,
            value=value,
            encoder=encoder,
            sae=sae,
            expression=expression,
            n_null=N_NULL,
            enrich=False,
        )
        down, up = top_genes(result, N_GENES)
        rng = np.random.default_rng(0)
        moves: dict[str, Any] = {}
        if "umap_original" in result:
            keep = np.sort(rng.permutation(result["n_cells"])[:MAX_MOVES])
            moves = {
                "original": np.round(result["umap_original"][keep], 4).tolist(),
                "steered": np.round(result["umap_steered"][keep], 4).tolist(),
            }
        umap = self.data.umap
        background = umap[np.sort(rng.permutation(len(umap))[:MAX_BACKGROUND])]
        landing = result["landing"]
        genes = result.get("genes")
        return {
            "concept": cid,
            "value": result["value"],
            "n_cells": result["n_cells"],
            "cells": result["cells"],
            "decodes_to": result.get("decodes_to"),
            "note": note,
            "down": [{"gene": g, "lfc": float(v)} for g, v in zip(down["gene"], down["lfc"], strict=True)],
            "up": [{"gene": g, "lfc": float(v)} for g, v in zip(up["gene"], up["lfc"], strict=True)],
            "null_abs_lfc": float(genes["null_abs_lfc"].median()) if genes is not None else None,
            "n_beyond_null": int(genes["beyond_null"].sum()) if genes is not None else None,
            "landing": [
                {k: (float(v) if isinstance(v, float | np.floating) else str(v)) for k, v in row.items()}
                for row in landing.head(6).to_dict(orient="records")
            ],
            "moves": moves,
            "background": np.round(background, 4).tolist(),
        }


def steering_router(data: ConceptResults) -> APIRouter:
    """Routes of the "what if" panel.

    ``GET /api/concepts/{cid}/steer?value=off|x2`` and ``GET /api/steer/toward?cells=SOURCE&toward=TARGET``.
    """
    router = APIRouter()
    steerer = Steerer(data)

    @router.get("/api/concepts/{cid}/steer")
    def get_steering(cid: int, value: str = Query("off", pattern="^(off|x2)$")) -> dict[str, Any]:
        if not data.has_concept(cid):
            raise HTTPException(404, f"no concept {cid}; ids run from 0 to {data.n_concepts - 1}")
        try:
            return steerer.steer(cid, value)
        except InputError as error:
            raise HTTPException(409, str(error)) from error

    @router.get("/api/steer/toward")
    def get_toward(cells: str = Query(..., max_length=500), toward: str = Query(..., max_length=500)) -> dict[str, Any]:
        try:
            return steerer.toward(cells, toward)
        except InputError as error:
            raise HTTPException(409, str(error)) from error

    return router
