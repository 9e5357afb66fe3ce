"""``tl.steer(concept=...)``: switch one concept off (or turn it up) in chosen cells; decode the change and land it.

The concept is clamped (:func:`scconcepts.steering._clamp.steer_embedding`), the steered and original
embeddings are decoded to expression and compared cell by cell against random directions of the same norm
(:mod:`scconcepts.steering._gene_effects`), and the steered cells' neighbours are read (:func:`land`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from anndata import AnnData

from scconcepts._errors import InputError
from scconcepts.models import Encoder
from scconcepts.sae import TopKSAE, encode_csr
from scconcepts.stats import random_directions
from scconcepts.steering._cells import SteeringValue, parse_value, resolve_concept, select_cells
from scconcepts.steering._clamp import steer_embedding
from scconcepts.steering._gene_effects import change_enrichment, gene_effects, top_genes
from scconcepts.steering._genes import ALPHA
from scconcepts.steering._landing import land

logger = logging.getLogger(__name__)


def _chosen_cells(
    adata: AnnData, embedding: np.ndarray, sae: TopKSAE, cid: int, parsed: SteeringValue, cells: Any, labels_key: str
) -> tuple[np.ndarray, str, np.ndarray, bool]:
    """``(rows, description, active, default_active)``: the cells to steer and where the concept is active."""
    active = encode_csr(sae, embedding)[:, [cid]].toarray().ravel() > 0  # in batches, on the SAE's device
    default_active = parsed.mode == "scale" or (np.ndim(parsed.amount) == 0 and float(parsed.amount) == 0.0)
    rows, described = select_cells(adata, cells, labels_key=labels_key, active=active, default_active=default_active)
    if rows.size == 0:
        raise InputError(f"no cell matches cells={cells!r}; nothing to steer")
    return rows, described, active, default_active


def steer_concept(
    adata: AnnData,
    embedding: np.ndarray,
    *,
    concept: int | str,
    value: float | str | Sequence[float] | np.ndarray,
    cells: Any,
    table: pd.DataFrame | None,
    encoder: Encoder,
    sae: TopKSAE,
    labels_key: str,
    seed: int,
    n_null: int,
    n_neighbors: int,
    expression: bool,
    enrich: bool,
    sources: Any,
) -> dict[str, Any]:
    """Steer ``concept`` in the chosen ``cells``; see :func:`scconcepts.tl.steer` for the parameters and result."""
    cid = resolve_concept(concept, table, sae.n_latents)
    parsed = parse_value(value)
    if expression and encoder.decodes_to is None:
        encoder.decode_expression(embedding[:1], adata[:1])  # raises the model's "no decoder" InputError
    rows, described, active, default_active = _chosen_cells(adata, embedding, sae, cid, parsed, cells, labels_key)
    steered, current, target = steer_embedding(sae, embedding[rows], cid, parsed)
    if default_active and not active[rows].any():
        raise InputError(
            f"concept {cid} is active in none of the {rows.size} chosen cells; steering it changes nothing"
        )
    shift = steered.astype(np.float64) - embedding[rows]
    result: dict[str, Any] = {
        "concept": cid,
        "value": parsed.text,
        "cells": described,
        "n_cells": int(rows.size),
        "n_active": int(active[rows].sum()),
        "mean_activation_original": float(current.mean()),
        "mean_activation_steered": float(target.mean()),
        "embedding_shift": float(np.linalg.norm(shift, axis=1).mean()),
        "labels_key": str(labels_key),
        "obs_names": np.asarray(adata.obs_names[rows]).astype(str),
    }
    null_shifts = [embedding[rows] + d for d in random_directions(shift, n_null, seed=seed)] if n_null else []
    if expression:
        cells_view = adata[rows]
        genes, null = gene_effects(encoder, cells_view, embedding[rows], steered, shift, n_null=n_null, seed=seed)
        result.update(genes=genes, null=null, decodes_to=str(encoder.decodes_to))
        if enrich:
            try:
                result["enrichment"] = change_enrichment(genes, adata, cid, sources)
            except InputError as error:
                logger.warning("enrichment of the steered change skipped: %s", error)
    labels = adata.obs[labels_key] if labels_key in adata.obs else None
    umap = np.asarray(adata.obsm["X_umap"]) if "X_umap" in adata.obsm else None
    landing = land(
        embedding, rows, steered, null_shifts[: min(5, len(null_shifts))], labels=labels, umap=umap,
        n_neighbors=n_neighbors,
    )  # fmt: skip
    result.update(landing=landing.shares, landed=landing.landed)
    if landing.umap_original is not None:
        result.update(umap_original=landing.umap_original, umap_steered=landing.umap_steered)
    return result


def log_steering(result: dict[str, Any]) -> None:
    """Log the steering of one concept: activations, top genes, terms and where the cells landed."""
    down, up = top_genes(result, 8)
    logger.info(
        "steered concept %d (%s) in %d cells (%s): activation %.3g -> %.3g, embedding moved %.3g",
        result["concept"],
        result["value"],
        result["n_cells"],
        result["cells"],
        result["mean_activation_original"],
        result["mean_activation_steered"],
        result["embedding_shift"],
    )
    if "genes" in result:
        null = result["null"]
        logger.info(
            "genes down: %s", ", ".join(f"{g} {v:+.2f}" for g, v in zip(down["gene"], down["lfc"], strict=True))
        )
        logger.info("genes up: %s", ", ".join(f"{g} {v:+.2f}" for g, v in zip(up["gene"], up["lfc"], strict=True)))
        logger.info(
            "%d genes beyond the null (padj < %.2g and |lfc| above the 95th percentile of %d random directions of "
            "the same norm); max |lfc| %.3g vs %.3g for random directions",
            null["n_genes_beyond"],
            ALPHA,
            null["n_draws"],
            null["max_abs_lfc"],
            null["null_max_abs_lfc"],
        )
    terms = result.get("enrichment")
    if isinstance(terms, pd.DataFrame) and len(terms):
        best = terms[terms["padj"] < ALPHA].sort_values("pval", kind="stable")
        for sign, name in ((-1, "lowered"), (1, "raised")):
            picked = best[np.sign(best["score"]) == sign].head(3)
            logger.info(
                "terms %s: %s", name, "; ".join(f"{r.term} (padj {r.padj:.2g})" for r in picked.itertuples()) or "none"
            )
    shares = result["landing"]
    if len(shares):
        top = shares.head(4)
        logger.info(
            "neighbours before -> after (random shift): %s",
            "; ".join(
                f"{r.cell_type} {r.share_original:.0%} -> {r.share_steered:.0%} ({r.share_null:.0%})"
                for r in top.itertuples()
            ),
        )
