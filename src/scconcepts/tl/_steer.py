"""``scconcepts.tl.steer``: switch a concept off (or turn it up) in chosen cells and decode the change to genes.

The concept is clamped in the cells' SAE codes and the embedding is rebuilt keeping the SAE's error term
(``steered = embedding + (new - old activation) x decoder row``), so an unsteered cell keeps its embedding
exactly. The steered and original embeddings are then decoded to expression through the model's
generative side and compared cell by cell.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from anndata import AnnData

from scconcepts._device import move_models
from scconcepts._errors import InputError
from scconcepts._keys import DEFAULT_KEY, labels_key_of, params_key, steering_key
from scconcepts._threads import encoder_work, threads_by_size
from scconcepts.models import Encoder
from scconcepts.sae import TopKSAE, encode_csr
from scconcepts.stats import paired_log_test, random_directions
from scconcepts.steering._cells import parse_value, resolve_concept, select_cells
from scconcepts.steering._landing import land

logger = logging.getLogger(__name__)

#: Adjusted p-value below which a gene counts as changed (and beyond the null to be called).
ALPHA = 0.05
GENE_COLUMNS = ["gene", "lfc", "t", "pval", "padj", "mean_original", "mean_steered", "null_abs_lfc", "beyond_null"]


@torch.no_grad()
def steer_embedding(
    sae: TopKSAE, embedding: np.ndarray, concept: int, value: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Clamp ``concept`` in the SAE codes of ``embedding`` rows and rebuild the embeddings, error term kept.

    Returns
    -------
    ``(steered, current, target)``: steered embeddings, and the concept's activation before and after.

    """
    sae.eval()
    x = torch.as_tensor(np.asarray(embedding, dtype=np.float32), device=sae.W_dec.device)
    current = sae.encode(x)[:, concept].double().cpu().numpy()
    target = parse_value(value).target(current)
    atom = (sae.W_dec[concept] * sae.scale).double().cpu().numpy()  # decode() is linear: one unit's move
    steered = np.asarray(embedding, dtype=np.float64) + (target - current)[:, None] * atom[None, :]
    return steered.astype(np.float32), current, target


def _embedding(adata: AnnData, key: str) -> tuple[np.ndarray, dict[str, Any]]:
    if params_key(key) not in adata.uns:
        raise InputError(f"adata.uns[{key!r}] is missing; run scconcepts.tl.train_sae first")
    params = dict(adata.uns[params_key(key)].get("params", {}))
    use_rep = str(params.get("use_rep", ""))
    if use_rep not in adata.obsm:
        raise InputError(f"the embedding obsm[{use_rep!r}] the SAE was trained on is missing")
    return np.asarray(adata.obsm[use_rep], dtype=np.float32), params


def _gene_effects(
    encoder: Encoder,
    cells: AnnData,
    original: np.ndarray,
    steered: np.ndarray,
    shift: np.ndarray,
    *,
    n_null: int,
    seed: int,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    pseudo = float(encoder.decode_pseudo_count)
    before = encoder.decode_expression(original, cells)
    after = encoder.decode_expression(steered, cells)
    test = paired_log_test(before, after, pseudo_count=pseudo)
    null_lfc = []
    for draw in random_directions(shift, n_null, seed=seed):
        decoded = encoder.decode_expression(original + draw, cells)
        null_lfc.append(paired_log_test(before, decoded, pseudo_count=pseudo).lfc)
    null_lfc = np.asarray(null_lfc) if null_lfc else np.zeros((0, before.shape[1]))
    null_abs = np.quantile(np.abs(null_lfc), 0.95, axis=0) if len(null_lfc) else np.zeros(before.shape[1])
    beyond = (test.padj < ALPHA) & (np.abs(test.lfc) > null_abs)
    genes = pd.DataFrame(
        {
            "gene": encoder.genes,
            "lfc": test.lfc,
            "t": test.t,
            "pval": test.pval,
            "padj": test.padj,
            "mean_original": before.mean(axis=0),
            "mean_steered": after.mean(axis=0),
            "null_abs_lfc": null_abs,
            "beyond_null": beyond,
        }
    )
    null = {
        "n_draws": len(null_lfc),
        "n_genes_beyond": int(beyond.sum()),
        "n_genes_significant": int((test.padj < ALPHA).sum()),
        "max_abs_lfc": float(np.abs(test.lfc).max()) if test.lfc.size else 0.0,
        "null_max_abs_lfc": float(np.abs(null_lfc).max(axis=1).mean()) if len(null_lfc) else 0.0,
    }
    return genes.sort_values("lfc", kind="stable", ignore_index=True), null


def _enrichment(genes: pd.DataFrame, adata: AnnData, concept: int, sources: Any) -> pd.DataFrame:
    """Gene-set enrichment (ulm) of the steered change (log fold changes of the model's genes)."""
    from scconcepts.genesets import EnrichOptions, enrich_scores, harmonise_genes, load_source

    names = list(genes["gene"])
    scores = genes["lfc"].to_numpy(dtype=np.float64)[None, :]
    var = adata.var.reindex(names)
    frames = []
    for spec in [sources] if isinstance(sources, str) else list(sources):
        sets = load_source(spec)
        keys = harmonise_genes(names, sets.members(), var=var, source=sets.source)
        frames.append(
            enrich_scores(
                scores, sets, gene_keys=keys, gene_names=names, concepts=[concept], opts=EnrichOptions(method="ulm")
            )
        )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


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
    if toward is not None:
        options = {
            "concept": concept,
            "cells": cells,
            "toward": toward,
            "concepts": concepts,
            "strength": strength,
            "match": match,
            "reproducible_only": reproducible_only,
            "expression": expression,
            "encoder": encoder,
            "sae": sae,
            "labels_key": labels_key,
            "n_null": n_null,
            "n_draws": n_draws,
            "n_neighbors": n_neighbors,
            "seed": seed,
            "key": key,
        }
        return _toward(adata, embedding, params, table, options)
    if concept is None:
        raise InputError("name a concept to steer (--concept), or a state to steer the cells toward (--toward)")
    cid = resolve_concept(concept, table if isinstance(table, pd.DataFrame) else None, sae.n_latents)
    parsed = parse_value(value)
    if expression and encoder.decodes_to is None:
        encoder.decode_expression(embedding[:1], adata[:1])  # raises the model's "no decoder" InputError
    labels_key = labels_key or labels_key_of(params)
    active = encode_csr(sae, embedding)[:, [cid]].toarray().ravel() > 0  # in batches, on the SAE's device
    default_active = parsed.mode == "scale" or (np.ndim(parsed.amount) == 0 and float(parsed.amount) == 0.0)
    rows, described = select_cells(adata, cells, labels_key=labels_key, active=active, default_active=default_active)
    if rows.size == 0:
        raise InputError(f"no cell matches cells={cells!r}; nothing to steer")
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
        genes, null = _gene_effects(encoder, cells_view, embedding[rows], steered, shift, n_null=n_null, seed=seed)
        result.update(genes=genes, null=null, decodes_to=str(encoder.decodes_to))
        if enrich:
            try:
                result["enrichment"] = _enrichment(genes, adata, cid, sources)
            except InputError as error:
                logger.warning("enrichment of the steered change skipped: %s", error)
    labels = adata.obs[labels_key] if labels_key in adata.obs else None
    umap = np.asarray(adata.obsm["X_umap"]) if "X_umap" in adata.obsm else None
    landing = land(
        embedding,
        rows,
        steered,
        null_shifts[: min(5, len(null_shifts))],
        labels=labels,
        umap=umap,
        n_neighbors=n_neighbors,
    )
    result.update(landing=landing.shares, landed=landing.landed)
    if landing.umap_original is not None:
        result.update(umap_original=landing.umap_original, umap_steered=landing.umap_steered)
    earlier = adata.uns.get(steering_key(key))
    if isinstance(earlier, dict) and "toward" in earlier:  # the latest steering toward a state is kept beside
        result["toward"] = earlier["toward"]
    adata.uns[steering_key(key)] = result
    _log(result)
    return result


def _toward(
    adata: AnnData, embedding: np.ndarray, params: dict[str, Any], table: Any, options: dict[str, Any]
) -> dict[str, Any]:
    """``steer(..., toward=...)``: the entry point of :func:`scconcepts.steering.steer_toward`."""
    from scconcepts.steering import steer_toward

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
        table=table if isinstance(table, pd.DataFrame) else None,
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


def top_genes(result: dict[str, Any], n: int = 10) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``n`` genes the steering lowers most and raises most (beyond the null and significant)."""
    genes = result.get("genes")
    if not isinstance(genes, pd.DataFrame) or genes.empty:
        empty = pd.DataFrame(columns=GENE_COLUMNS)
        return empty, empty
    called = genes[genes["beyond_null"].astype(bool)]
    down = called[called["lfc"] < 0].sort_values("lfc", kind="stable").head(n)
    up = called[called["lfc"] > 0].sort_values("lfc", ascending=False, kind="stable").head(n)
    return down.reset_index(drop=True), up.reset_index(drop=True)


def _log(result: dict[str, Any]) -> None:
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
