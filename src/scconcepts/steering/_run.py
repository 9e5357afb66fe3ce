"""``scconcepts.tl.steer(..., toward=TARGET)``: move source cells toward a target state through the concepts.

The concepts separating target from source are chosen and moved (:mod:`scconcepts.steering._toward`), the
embedding rebuilt with the SAE's error term and decoded to expression; every read-out
(:mod:`scconcepts.steering._readouts`) is computed for the steering and for each control
(:mod:`scconcepts.steering._controls`), all with the same per-cell norm of change.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from anndata import AnnData

from scconcepts.models import Encoder
from scconcepts.sae import TopKSAE
from scconcepts.steering._controls import control_changes
from scconcepts.steering._genes import GeneJudge
from scconcepts.steering._groups import source_and_target
from scconcepts.steering._landing import Neighbourhood, land
from scconcepts.steering._readouts import HeldOutClassifier, knn_landing, reference_de, right_way
from scconcepts.steering._toward import atoms_of, choose_concepts, codes_of, goal_codes, move_codes

logger = logging.getLogger(__name__)

#: Genes whose decoded change the result reports by name when the model has them (CD4 vs CD8 T cells).
MARKERS = ("CD8A", "CD8B", "CD4")
SOURCE, TARGET = "__source__", "__target__"


def _classes(adata: AnnData, labels_key: str | None, source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Classifier labels: every cell's type (``other`` without one), the source and target groups as their own."""
    if labels_key is not None and labels_key in adata.obs:
        classes = adata.obs[labels_key].astype(str).to_numpy().astype(object)
    else:
        classes = np.full(adata.n_obs, "other", dtype=object)
    classes[source], classes[target] = SOURCE, TARGET
    return classes.astype(str)


def _read_outs(
    moves: dict[str, list[np.ndarray]],
    original: np.ndarray,
    rows: np.ndarray,
    is_target: np.ndarray,
    hood: Neighbourhood,
    classifier: HeldOutClassifier,
    judge: GeneJudge | None,
    reference: pd.DataFrame | None,
) -> tuple[pd.DataFrame, dict[str, np.ndarray], pd.DataFrame | None]:
    """Every read-out of the steering and of each control, averaged over their draws.

    Returns ``(controls table, per move the mean lfc of the reference DE genes, the steering's own gene table)``.
    """
    summary, lfc_columns, steered_genes = [], {}, None
    for name, draws in moves.items():
        row: dict[str, Any] = {"control": name, "n_draws": len(draws)}
        if draws:
            row["landing_knn"] = float(np.mean([knn_landing(hood, original + d, rows, is_target) for d in draws]))
            row["landing_classifier"] = float(np.mean([classifier.share(original + d, rows, TARGET) for d in draws]))
            row["mean_norm"] = float(np.mean([np.linalg.norm(d, axis=1).mean() for d in draws]))
        if judge is not None and draws:
            tables = [judge.table(d) for d in draws]
            counts = np.asarray([right_way(reference, t) for t in tables], dtype=np.float64)
            row["de_right_way"], row["de_same_sign"] = counts.mean(axis=0)
            lfc_columns[f"lfc_{name}"] = np.mean(
                [t.set_index("gene")["lfc"].reindex(reference["gene"]).to_numpy() for t in tables], axis=0
            )
            if name == "steered":
                steered_genes = tables[0]
        summary.append(row)
    return pd.DataFrame(summary), lfc_columns, steered_genes


def _gene_entries(
    judge: GeneJudge,
    reference: pd.DataFrame,
    lfc_columns: dict[str, np.ndarray],
    steered_genes: pd.DataFrame,
    encoder: Encoder,
) -> dict[str, Any]:
    """The result's gene entries: the reference DE genes with each move's lfc, markers, genes and their null."""
    genes = steered_genes.set_index("gene")
    return {
        "reference_de": reference.assign(**lfc_columns),
        "markers": {g: float(genes.loc[g, "lfc"]) for g in MARKERS if g in genes.index},
        "genes": steered_genes.sort_values("lfc", kind="stable", ignore_index=True),
        "null": {
            "n_draws": judge.n_null,
            "n_genes_beyond": int(steered_genes["beyond_null"].sum()),
            "null_max_abs_lfc": judge.null_max,
        },
        "decodes_to": str(encoder.decodes_to),
    }


def steer_toward(
    adata: AnnData,
    embedding: np.ndarray,
    *,
    cells: str,
    toward: str,
    encoder: Encoder,
    sae: TopKSAE,
    table: pd.DataFrame | None,
    labels_key: str | None,
    concepts: str | Sequence[int | str] = "auto",
    strength: float = 1.0,
    match: str = "mean",
    reproducible_only: bool = False,
    expression: bool = True,
    n_null: int = 20,
    n_draws: int = 10,
    n_neighbors: int = 15,
    seed: int = 0,
) -> dict[str, Any]:
    """Steer the ``cells`` group toward the ``toward`` group; see :func:`scconcepts.tl.steer` for the parameters.

    Returns
    -------
    The result recorded under ``uns["<key>_steering"]["toward"]``: ``mode`` (``"toward"``), ``cells``,
    ``toward``, ``n_cells``, ``n_target``, ``concepts`` (table of the chosen concepts), ``n_concepts``,
    ``n_dictionary``, ``strength``, ``match``, ``embedding_shift`` (mean per-cell norm), ``centroid_distance``,
    ``controls`` (table: ``control``, ``n_draws``, ``landing_knn``, ``landing_classifier``, ``de_right_way``,
    ``de_same_sign``), ``reference_de`` (the target's top DE genes vs the source, with each control's lfc),
    ``markers``, ``genes`` (the steered gene table), ``null``, ``landing``, ``landed``, ``obs_names`` and the
    map moves; gene entries absent with ``expression=False``.

    """
    rows, target_rows = source_and_target(adata, cells, toward, labels_key=labels_key)
    codes_source, codes_target = codes_of(sae, embedding[rows]), codes_of(sae, embedding[target_rows])
    chosen_table = choose_concepts(
        codes_source, codes_target, concepts=concepts, table=table, reproducible_only=reproducible_only
    )
    chosen = chosen_table["concept"].to_numpy(dtype=np.int64)
    goal = goal_codes(codes_source, codes_target, chosen, match=match)
    moved = move_codes(codes_source, goal, chosen, strength)
    atoms = atoms_of(sae)
    change = (moved - codes_source) @ atoms
    original = np.asarray(embedding[rows], dtype=np.float64)
    centroid_shift = embedding[target_rows].astype(np.float64).mean(0) - original.mean(0)
    moves = {"steered": [change], **control_changes(change, atoms, chosen, centroid_shift, n_draws=n_draws, seed=seed)}

    is_target = np.zeros(adata.n_obs, dtype=bool)
    is_target[target_rows] = True
    hood = Neighbourhood(embedding, n_neighbors=n_neighbors)
    classifier = HeldOutClassifier(embedding, _classes(adata, labels_key, rows, target_rows), seed=seed)
    judge = reference = None
    if expression:
        judge = GeneJudge(encoder, adata[rows], original, change, n_null=n_null, seed=seed)
        reference = reference_de(adata, rows, target_rows, list(encoder.genes))
    controls, lfc_columns, steered_genes = _read_outs(
        moves, original, rows, is_target, hood, classifier, judge, reference
    )
    steered = original + change
    null_points = [original + d for d in moves["random_directions"][:5]]
    landing = land(
        embedding,
        rows,
        steered,
        null_points,
        labels=adata.obs[labels_key] if labels_key is not None and labels_key in adata.obs else None,
        umap=np.asarray(adata.obsm["X_umap"]) if "X_umap" in adata.obsm else None,
        n_neighbors=n_neighbors,
    )
    result: dict[str, Any] = {
        "mode": "toward",
        "cells": str(cells),
        "toward": str(toward),
        "n_cells": int(rows.size),
        "n_target": int(target_rows.size),
        "concepts": chosen_table,
        "n_concepts": int(chosen.size),
        "n_dictionary": int(sae.n_latents),
        "strength": float(strength),
        "match": str(match),
        "embedding_shift": float(np.linalg.norm(change, axis=1).mean()),
        "centroid_distance": float(np.linalg.norm(centroid_shift)),
        "controls": controls,
        "labels_key": str(labels_key),
        "obs_names": np.asarray(adata.obs_names[rows]).astype(str),
        "landing": landing.shares,
        "landed": landing.landed,
    }
    if landing.umap_original is not None:
        result.update(umap_original=landing.umap_original, umap_steered=landing.umap_steered)
    if judge is not None and reference is not None and steered_genes is not None:
        result.update(_gene_entries(judge, reference, lfc_columns, steered_genes, encoder))
    log_toward(result)
    return result


def log_toward(result: dict[str, Any]) -> None:
    """Log the chosen concepts and every read-out of the steering and its controls."""
    chosen = result["concepts"]
    logger.info(
        "steering %d cells (%s) toward %s (%d cells) through %d of %d concepts: %s",
        result["n_cells"],
        result["cells"],
        result["toward"],
        result["n_target"],
        result["n_concepts"],
        result["n_dictionary"],
        ", ".join(
            f"{c} (d {d:+.2f}{'' if r else ', not reproducible'})"
            for c, d, r in chosen[["concept", "effect", "reproducible"]].itertuples(index=False)
        ),
    )
    for row in result["controls"].itertuples():
        de = (
            f", top-20 DE genes right way {row.de_right_way:.1f} (beyond the null), {row.de_same_sign:.1f} (sign)"
            if "de_right_way" in result["controls"]
            else ""
        )
        logger.info(
            "%-17s landing (kNN) %5.1f%%, classifier %5.1f%%%s",
            row.control,
            100 * row.landing_knn,
            100 * row.landing_classifier,
            de,
        )
    if result.get("markers"):
        logger.info("markers (log2 FC): %s", ", ".join(f"{g} {v:+.2f}" for g, v in result["markers"].items()))
