"""``scconcepts.tl.steer``: switch a concept off (or turn it up) in chosen cells and decode the change to genes.

The entry point: it checks the run and the models, then steers one concept
(:func:`scconcepts.steering._concept.steer_concept`) or moves cells toward a state
(:func:`scconcepts.steering.steer_toward`), and stores the result under ``uns["<key>_steering"]``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from anndata import AnnData

from scconcepts._device import move_models
from scconcepts._errors import InputError
from scconcepts._keys import DEFAULT_KEY, labels_key_of, params_key, steering_key
from scconcepts._threads import encoder_work, threads_by_size
from scconcepts.models import Encoder
from scconcepts.sae import TopKSAE
from scconcepts.steering import steer_toward
from scconcepts.steering._clamp import steer_embedding
from scconcepts.steering._concept import log_steering, steer_concept
from scconcepts.steering._gene_effects import GENE_COLUMNS, top_genes
from scconcepts.steering._genes import ALPHA
from scconcepts.tl._concept_model import refuse_token_run

logger = logging.getLogger(__name__)

__all__ = ["ALPHA", "GENE_COLUMNS", "steer", "steer_embedding", "top_genes"]


def _embedding(adata: AnnData, key: str) -> tuple[np.ndarray, dict[str, Any]]:
    if params_key(key) not in adata.uns:
        raise InputError(f"adata.uns[{key!r}] is missing; run scconcepts.tl.train_sae first")
    params = dict(adata.uns[params_key(key)].get("params", {}))
    refuse_token_run(params, "steer")
    use_rep = str(params.get("use_rep", ""))
    if use_rep not in adata.obsm:
        raise InputError(f"the embedding obsm[{use_rep!r}] the SAE was trained on is missing")
    return np.asarray(adata.obsm[use_rep], dtype=np.float32), params


@threads_by_size(encoder_work)
def steer(
    adata: AnnData,
    *,
    concept: int | str | None = None,
    value: float | str | Sequence[float] | np.ndarray = 0.0,
    cells: str | Sequence[int] | np.ndarray | None = None,
    toward: str | None = None,
    concepts: str | Sequence[int | str] = "auto",
    strength: float = 1.0,
    match: str = "mean",
    reproducible_only: bool = False,
    n_draws: int = 10,
    key: str = DEFAULT_KEY,
    encoder: Encoder,
    sae: TopKSAE,
    labels_key: str | None = None,
    expression: bool = True,
    n_null: int = 20,
    enrich: bool = True,
    sources: Any = "auto",
    n_neighbors: int = 15,
    seed: int = 0,
    device: str | None = None,
) -> dict[str, Any]:
    """Steer a concept in chosen cells and decode what changes, in genes and on the map.

    Writes ``uns["<key>_steering"]`` (the result returned) and logs the top genes. With ``toward``, the
    ``cells`` are moved toward that state through the concepts separating it from them instead
    (:func:`scconcepts.steering.steer_toward`); that result is kept under ``uns["<key>_steering"]["toward"]``.

    Parameters
    ----------
    adata
        Cells with the run's embedding (``obsm[uns[key]["params"]["use_rep"]]``), counts (for the
        library size scVI's decoder uses) and, for the landing, ``obs[labels_key]`` and ``obsm["X_umap"]``.
    concept
        Concept id, or the exact automatic label of one concept (not with ``toward``).
    value
        ``0.0`` or ``"off"`` (switch off), a multiple of each cell's activation (``"x2"``, ``"0.5x"``), an
        activation (a number >= 0) or one activation per chosen cell.
    cells
        A cell type of ``obs[labels_key]``, a pandas query on ``obs``, a boolean mask or row numbers;
        default the cells where the concept is active (every cell when ``value`` is a positive number).
        With ``toward``: the source state, a cell type, types joined by commas, or a query on ``obs``.
    toward
        The target state (as ``cells``): steer the ``cells`` toward it through the concepts that separate the
        two, with controls of the same per-cell norm (see :mod:`scconcepts.steering`).
    concepts
        With ``toward``: ``"auto"`` (concepts with ``|Cohen's d| >= 0.5`` between target and source), or ids /
        labels (a list or a comma-separated string).
    strength
        With ``toward``: share of the way to the target's codes (1: set to them; above 1 overshoots).
    match
        With ``toward``: ``"mean"`` (the target's mean activation) or ``"quantile"`` (the target's quantile at
        the cell's rank among the source cells).
    reproducible_only
        With ``toward`` and ``concepts="auto"``: choose among reproducible concepts only.
    n_draws
        With ``toward``: draws of the random controls.
    key
        Stem of the concept keys.
    encoder
        The run's model; its :meth:`~scconcepts.models.Encoder.decode_expression` maps embeddings to genes.
    sae
        The run's SAE.
    labels_key
        ``obs`` column of cell types; default the one the SAE was trained with, else ``cell_type``.
    expression
        Decode to expression (``False``: the embedding shift and landing only, for models without a decoder).
    n_null
        Random directions, each with the same per-cell norm as the real shift, decoded as the null.
    enrich
        Gene-set enrichment (ulm) of the log fold changes.
    sources
        Gene-set sources for the enrichment (see :func:`scconcepts.tl.enrich`).
    n_neighbors
        Neighbours for the landing.
    seed
        Seed of the random directions.
    device
        Torch device to move the encoder and the SAE to first (``"auto"``, ``"cpu"``, ``"cuda"``,
        ``"cuda:N"``, ``"mps"``); ``None`` leaves them where they are. A device this machine lacks is an
        InputError.

    Returns
    -------
    ``{"concept", "value", "cells", "n_cells", "mean_activation_original", "mean_activation_steered",
    "embedding_shift", "decodes_to", "genes" (table: gene, lfc, t, pval, padj, mean_original, mean_steered,
    null_abs_lfc = 95th percentile of |lfc| over random directions, beyond_null), "null" (summary),
    "enrichment", "landing" (cell type shares before / after / null), "obs_names", "landed",
    "umap_original", "umap_steered"}``; tables absent where not computed.

    """
    if device is not None:
        move_models(encoder, sae, device=device)
    embedding, params = _embedding(adata, key)
    if embedding.shape[1] != sae.d_in:
        raise InputError(f"the embedding has {embedding.shape[1]} dimensions but the SAE reads {sae.d_in}")
    table = adata.uns[params_key(key)].get("table")
    table = table if isinstance(table, pd.DataFrame) else None
    if toward is not None:
        options = {
            "concept": concept, "cells": cells, "toward": toward, "concepts": concepts, "strength": strength,
            "match": match, "reproducible_only": reproducible_only, "expression": expression, "encoder": encoder,
            "sae": sae, "labels_key": labels_key, "n_null": n_null, "n_draws": n_draws, "n_neighbors": n_neighbors,
            "seed": seed, "key": key,
        }  # fmt: skip
        return _toward(adata, embedding, params, table, options)
    if concept is None:
        raise InputError("name a concept to steer (--concept), or a state to steer the cells toward (--toward)")
    result = steer_concept(
        adata, embedding, concept=concept, value=value, cells=cells, table=table, encoder=encoder, sae=sae,
        labels_key=labels_key or labels_key_of(params), expression=expression, n_null=n_null, enrich=enrich,
        sources=sources, n_neighbors=n_neighbors, seed=seed,
    )  # fmt: skip
    earlier = adata.uns.get(steering_key(key))
    if isinstance(earlier, dict) and "toward" in earlier:  # the latest steering toward a state is kept beside
        result["toward"] = earlier["toward"]
    adata.uns[steering_key(key)] = result
    log_steering(result)
    return result


def _toward(
    adata: AnnData, embedding: np.ndarray, params: dict[str, Any], table: Any, options: dict[str, Any]
) -> dict[str, Any]:
    """``steer(..., toward=...)``: the entry point of :func:`scconcepts.steering.steer_toward`."""
    if options["concept"] is not None:
        raise InputError("steer either one concept (--concept) or toward a state (--toward), not both")
    if not isinstance(options["cells"], str):
        raise InputError("--cells must name the source state (a cell type or a query on obs) to steer --toward")
    if options["expression"] and options["encoder"].decodes_to is None:
        options["encoder"].decode_expression(embedding[:1], adata[:1])  # the model's "no decoder" InputError
    result = steer_toward(
        adata,
        embedding,
        cells=options["cells"],
        toward=str(options["toward"]),
        encoder=options["encoder"],
        sae=options["sae"],
        table=table,
        labels_key=options["labels_key"] or labels_key_of(params),
        concepts=options["concepts"],
        strength=float(options["strength"]),
        match=options["match"],
        reproducible_only=options["reproducible_only"],
        expression=options["expression"],
        n_null=options["n_null"],
        n_draws=options["n_draws"],
        n_neighbors=options["n_neighbors"],
        seed=options["seed"],
    )
    key = steering_key(options["key"])
    latest = adata.uns.get(key)
    adata.uns[key] = {**(dict(latest) if isinstance(latest, dict) else {}), "toward": result}
    return result
