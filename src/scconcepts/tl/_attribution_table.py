"""What ``tl.attribute`` writes into the AnnData, and the long table that reads it back."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from anndata import AnnData
from scipy import stats

from scconcepts._errors import InputError
from scconcepts._keys import attribution_key, attribution_padj_key, attribution_raw_key, de_key
from scconcepts.models._base import Encoder
from scconcepts.tl._de import log_normalised, wilcoxon_scores

TOP_OVERLAP = 20


def pval_key(key: str) -> str:
    """``varm`` key of the attribution p-values (before FDR adjustment)."""
    return f"{attribution_key(key)}_pval"


def fraction_key(key: str) -> str:
    """``varm`` key of the share of a concept's cells in which the gene acts."""
    return f"{attribution_key(key)}_fraction"


def exact_share_key(key: str) -> str:
    """``varm`` key of the share of each score measured exactly (``fast`` and ``screen+confirm`` engines)."""
    return f"{attribution_key(key)}_exact"


def ncells_key(key: str) -> str:
    """``varm`` key of the number of a concept's cells in which the gene was perturbed."""
    return f"{attribution_key(key)}_ncells"


def write_attribution(
    adata: AnnData,
    key: str,
    encoder: Encoder,
    activations: sp.csr_matrix,
    ids: np.ndarray,
    chosen: list[np.ndarray],
    result: Any,
    layer: str | None,
) -> None:
    n_concepts = activations.shape[1]
    rows = adata.var_names.get_indexer(encoder.genes)
    present = rows >= 0
    where = (rows[present][:, None], ids[None, :])

    def full(values: np.ndarray, fill: float, dtype: type) -> np.ndarray:
        out = np.full((adata.n_vars, n_concepts), fill, dtype=dtype)
        out[where] = values[present]
        return out

    adata.varm[attribution_key(key)] = full(result.score, 0.0, np.float32)
    adata.varm[attribution_raw_key(key)] = full(result.raw, 0.0, np.float32)
    adata.varm[attribution_padj_key(key)] = full(result.padj, 1.0, np.float64)
    adata.varm[pval_key(key)] = full(result.pval, 1.0, np.float64)
    adata.varm[fraction_key(key)] = full(result.fraction, 0.0, np.float32)
    adata.varm[ncells_key(key)] = full(result.n_perturbed, 0, np.int32)
    if result.confirmed is not None:
        adata.varm[exact_share_key(key)] = full(result.confirmed, 0.0, np.float32)
    else:
        adata.varm.pop(exact_share_key(key), None)
    active = sp.csc_matrix(activations[:, ids] > 0)
    de = np.zeros((adata.n_vars, n_concepts), dtype=np.float32)
    de[:, ids] = wilcoxon_scores(log_normalised(adata, layer=layer), active)
    adata.varm[de_key(key)] = de
    adata.uns[attribution_key(key)] = {
        "cells": _cells_table(adata, activations, ids, chosen),
        "model_genes": np.asarray(encoder.genes)[present].astype(str),  # the enrichment background
        "agreement": _agreement(adata.varm[attribution_key(key)], de, adata.varm[attribution_padj_key(key)],
                                rows[present], ids, result),
    }  # fmt: skip


def _cells_table(adata: AnnData, activations: sp.csr_matrix, ids: np.ndarray, chosen: list[np.ndarray]) -> pd.DataFrame:
    parts = []
    for concept, cells in zip(ids, chosen, strict=True):
        values = np.asarray(activations[cells, concept].todense()).ravel()
        parts.append(
            pd.DataFrame(
                {
                    "concept": int(concept),
                    "cell": adata.obs_names[cells].astype(str),
                    "activation": values.astype(np.float32),
                    "rank": np.arange(cells.size),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def _agreement(
    score: np.ndarray, de: np.ndarray, padj: np.ndarray, genes: np.ndarray, ids: np.ndarray, result: Any
) -> pd.DataFrame:
    records = []
    for j, concept in enumerate(ids):
        s, d = score[genes, concept], de[genes, concept]
        top_s = set(np.argsort(-s, kind="stable")[:TOP_OVERLAP])
        top_d = set(np.argsort(-d, kind="stable")[:TOP_OVERLAP])
        rho = stats.spearmanr(s, d).statistic if np.ptp(s) > 0 and np.ptp(d) > 0 else np.nan
        records.append(
            {
                "concept": int(concept),
                "n_cells": int(result.n_cells[j]),
                "mean_activation": float(result.mean_activation[j]),
                "n_significant": int((padj[genes, concept] < 0.05).sum()),
                "top20_overlap": len(top_s & top_d) / TOP_OVERLAP,
                "spearman": float(rho),
            }
        )
    table = pd.DataFrame(records)
    table.index = pd.Index(table["concept"].astype(str).to_numpy(), name=None)
    return table


def attribution_table(adata: AnnData, *, key: str = "concepts") -> pd.DataFrame:
    """Return the long attribution table: one row per concept and gene that was perturbed.

    Columns: ``concept`` (integer id), ``gene``, ``score`` (specific), ``pval``, ``padj``, ``n_cells`` (the
    concept's cells in which the gene was perturbed) and ``fraction`` (share of the concept's cells
    in which it acts) and ``raw`` (the raw causal effect), sorted by concept and decreasing score.
    """
    if attribution_key(key) not in adata.varm or ncells_key(key) not in adata.varm:
        raise InputError(f"varm[{attribution_key(key)!r}] is missing: run tl.attribute first")
    n_perturbed = np.asarray(adata.varm[ncells_key(key)])
    gene, concept = np.nonzero(n_perturbed.T > 0)[::-1]
    order = np.lexsort((-np.asarray(adata.varm[attribution_key(key)])[gene, concept], concept))
    gene, concept = gene[order], concept[order]
    raw = adata.varm.get(attribution_raw_key(key))
    return pd.DataFrame(
        {
            "concept": concept.astype(np.int64),
            "gene": adata.var_names[gene].astype(str),
            "score": np.asarray(adata.varm[attribution_key(key)])[gene, concept],
            "pval": np.asarray(adata.varm[pval_key(key)])[gene, concept],
            "padj": np.asarray(adata.varm[attribution_padj_key(key)])[gene, concept],
            "n_cells": n_perturbed[gene, concept].astype(np.int64),
            "fraction": np.asarray(adata.varm[fraction_key(key)])[gene, concept],
            "raw": np.asarray(raw)[gene, concept] if raw is not None else np.nan,
        }
    )
