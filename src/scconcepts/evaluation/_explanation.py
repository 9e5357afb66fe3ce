"""Explanation score: how well a component's explanation alone (a gene set) predicts where it fires in new cells.

A component is explained by a handful of genes (its top attributed genes, or its top differentially
expressed genes on the training cells). Held-out cells are scored with that gene set alone (mean
log-normalised expression of the set minus that of expression-matched control genes, as scanpy's
``score_genes`` does) and the score is compared with the component's activation: AUROC of the
component's top cells against the rest and Spearman correlation over all held-out cells. Random gene
sets of the same size give the chance level (AUROC 0.5, Spearman 0).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from scconcepts.evaluation._fidelity import ACTIVE_TOL

logger = logging.getLogger(__name__)

#: Genes in a component's explanation.
N_GENES = 20
#: Random gene sets per component for the chance level.
N_NULL = 5
#: Expression bins and control genes drawn per bin (scanpy ``score_genes``'s defaults).
N_BINS, CONTROL_SIZE = 25, 50
#: Bytes of float64 cells x sets scores held at once by :func:`explanation_scores`.
SCORE_BLOCK_BYTES = 256 * 2**20


def log_normalise(counts: np.ndarray | sp.spmatrix, *, target_sum: float = 1e4) -> sp.csr_matrix:
    """Counts scaled to ``target_sum`` per cell, then ``log1p`` (cells x genes, CSR float32)."""
    x = sp.csr_matrix(counts, dtype=np.float32, copy=True)
    totals = np.asarray(x.sum(axis=1)).ravel()
    scale = np.divide(target_sum, totals, out=np.zeros_like(totals, dtype=np.float64), where=totals > 0)
    x = sp.csr_matrix(sp.diags(scale.astype(np.float32)) @ x)
    np.log1p(x.data, out=x.data)
    return x


def _control_weights(
    expression: sp.csr_matrix, gene_sets: Sequence[np.ndarray], *, seed: int, n_bins: int, control_size: int
) -> sp.csr_matrix:
    """Genes x sets weights: +1/|set| on the set's genes, -1/|controls| on expression-matched control genes."""
    rng = np.random.default_rng(seed)
    means = np.asarray(expression.mean(axis=0)).ravel()
    ranks = means.argsort(kind="stable").argsort(kind="stable")
    bins = np.minimum((ranks * n_bins) // max(len(means), 1), n_bins - 1)
    members = [np.flatnonzero(bins == b) for b in range(n_bins)]
    rows, cols, values = [], [], []
    for j, genes in enumerate(gene_sets):
        genes = np.unique(np.asarray(genes, dtype=np.int64))
        if genes.size == 0:
            continue
        controls = []
        for b in np.unique(bins[genes]):
            candidates = np.setdiff1d(members[b], genes, assume_unique=True)
            controls.append(rng.choice(candidates, size=min(control_size, candidates.size), replace=False))
        controls = np.unique(np.concatenate(controls)) if controls else np.array([], dtype=np.int64)
        rows += [genes, controls]
        cols += [np.full(genes.size, j), np.full(controls.size, j)]
        values += [np.full(genes.size, 1.0 / genes.size), np.full(controls.size, -1.0 / max(controls.size, 1))]
    shape = (expression.shape[1], len(gene_sets))
    if not rows:
        return sp.csr_matrix(shape)
    return sp.csr_matrix((np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))), shape=shape)


def gene_set_scores(
    expression: sp.spmatrix | np.ndarray,
    gene_sets: Sequence[np.ndarray],
    *,
    seed: int = 0,
    n_bins: int = N_BINS,
    control_size: int = CONTROL_SIZE,
) -> np.ndarray:
    """Cells x sets score: mean log-expression of each set minus that of expression-matched random control genes.

    Parameters
    ----------
    expression
        Log-normalised cells x genes (:func:`log_normalise`).
    gene_sets
        Column indices of each set's genes.
    seed
        Seed of the control genes.
    n_bins, control_size
        Genes are binned by mean expression into ``n_bins`` bins; per bin a set touches,
        ``control_size`` control genes are drawn from it.

    """
    x = sp.csr_matrix(expression)
    weights = _control_weights(x, gene_sets, seed=seed, n_bins=n_bins, control_size=control_size)
    return np.asarray((x @ weights).todense())


def _auroc(positive: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve of ``score`` separating ``positive`` from the other cells (ties count 1/2)."""
    from scipy.stats import rankdata

    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(score)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr

    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(spearmanr(a, b).statistic)


def specific_genes(
    expression: sp.spmatrix,
    activations: np.ndarray,
    rows: np.ndarray,
    *,
    n_genes: int = N_GENES,
    n_top: int | None = None,
    min_cells: int = 5,
) -> list[np.ndarray]:
    """Each component's top specific genes on ``rows``: Welch t of its top cells against the rest, largest first.

    A component with fewer than ``min_cells`` active top cells gets no genes (empty set).
    """
    x = sp.csr_matrix(expression)[rows]
    values = np.asarray(activations, dtype=np.float64)[rows]
    n = len(rows)
    n_top = n_top or int(np.clip(round(0.05 * n), 10, 100))
    squares = x.multiply(x).tocsr()
    total, total_sq = np.asarray(x.sum(axis=0)).ravel(), np.asarray(squares.sum(axis=0)).ravel()
    sets = []
    for j in range(values.shape[1]):
        top = np.argsort(-values[:, j], kind="stable")[:n_top]
        top = top[values[top, j] > ACTIVE_TOL]
        if len(top) < min_cells or len(top) >= n - 1:
            sets.append(np.array([], dtype=np.int64))
            continue
        n_in, n_out = len(top), n - len(top)
        s_in = np.asarray(x[top].sum(axis=0)).ravel()
        sq_in = np.asarray(squares[top].sum(axis=0)).ravel()
        mean_in, mean_out = s_in / n_in, (total - s_in) / n_out
        var_in = np.maximum(sq_in / n_in - mean_in**2, 0)
        var_out = np.maximum((total_sq - sq_in) / n_out - mean_out**2, 0)
        t = (mean_in - mean_out) / np.sqrt(var_in / n_in + var_out / n_out + 1e-12)
        order = np.argsort(-t, kind="stable")[:n_genes]
        sets.append(order[t[order] > 0])
    return sets


def top_genes_by_score(scores: np.ndarray, *, n_genes: int = N_GENES) -> list[np.ndarray]:
    """Each column's ``n_genes`` highest positive scores (genes x components, e.g. an attribution), as gene indices."""
    scores = np.nan_to_num(np.asarray(scores, dtype=np.float64), nan=0.0)
    sets = []
    for j in range(scores.shape[1]):
        order = np.argsort(-scores[:, j], kind="stable")[:n_genes]
        sets.append(order[scores[order, j] > 0])
    return sets


def both_signs(activations: np.ndarray) -> np.ndarray:
    """Signed components as twice as many one-signed ones: every column, then every column negated."""
    x = np.asarray(activations, dtype=np.float64)
    return np.hstack([x, -x])


def explanation_scores(
    expression: sp.spmatrix,
    activations: np.ndarray | sp.spmatrix,
    gene_sets: Sequence[np.ndarray],
    rows: np.ndarray,
    *,
    n_top: int | None = None,
    n_null: int = N_NULL,
    min_cells: int = 5,
    seed: int = 0,
) -> pd.DataFrame:
    """Per component: how well its gene set, scored on ``rows``, predicts its activation there, beside random sets.

    Parameters
    ----------
    expression
        Log-normalised cells x genes (:func:`log_normalise`).
    activations
        Cells x components; larger = more active (negate a component to explain its negative side).
    gene_sets
        The explanation of each component (gene column indices); empty sets are not scored.
    rows
        Cells to score (held-out cells, never used to choose the genes).
    n_top
        Positive cells per component: its ``n_top`` most active cells among ``rows`` (active ones
        only); ``None`` uses 5% of ``rows``, between 10 and 100.
    n_null
        Random gene sets of the same size per component (drawn from the genes expressed in
        ``rows``, :func:`scconcepts.stats.random_gene_sets`).
    min_cells
        Components with fewer active cells among ``rows`` are not scored.
    seed
        Seed of the random sets and the control genes.

    Returns
    -------
    One row per component: ``n_genes``, ``auroc``, ``spearman``, ``auroc_chance`` and
    ``spearman_chance`` (means over the random sets); NaN where not scored.

    """
    from scconcepts.stats import random_gene_sets

    x = sp.csr_matrix(expression)[rows]
    values = _ColumnsOnRows(activations, rows)
    n_top = n_top or int(np.clip(round(0.05 * len(rows)), 10, 100))
    expressed = np.flatnonzero(np.asarray((x > 0).sum(axis=0)).ravel() > 0)
    sizes = [len(g) for g in gene_sets]
    null_sets = random_gene_sets(sizes, expressed, n_sets=n_null, seed=seed)
    all_sets = list(gene_sets) + [s for draws in null_sets for s in draws]
    # the sets' weights are drawn once (the same controls as scoring all sets together); the cells x sets
    # scores are then made for a block of components (and their random sets) at a time
    weights = sp.csc_matrix(_control_weights(x, all_sets, seed=seed, n_bins=N_BINS, control_size=CONTROL_SIZE))
    per_block = max(1, SCORE_BLOCK_BYTES // (8 * max(len(rows), 1) * (1 + n_null)))
    records = []
    for j, genes in enumerate(gene_sets):
        if j % per_block == 0:
            block = np.arange(j, min(j + per_block, len(gene_sets)))
            null_of_block = len(gene_sets) + (block[:, None] * n_null + np.arange(n_null)).ravel()
            scores_of = {int(c): i for i, c in enumerate(np.concatenate([block, null_of_block]))}
            block_scores = np.asarray((x @ weights[:, list(scores_of)]).todense())
        column = values.column(j)
        top = np.argsort(-column, kind="stable")[:n_top]
        top = top[column[top] > ACTIVE_TOL]
        if len(genes) == 0 or len(top) < min_cells:
            records.append({"n_genes": len(genes), **dict.fromkeys(("auroc", "spearman"), np.nan)})
            continue
        positive = np.zeros(len(rows), dtype=bool)
        positive[top] = True
        own = block_scores[:, scores_of[j]]
        null_cols = [scores_of[int(c)] for c in len(gene_sets) + j * n_null + np.arange(n_null)]
        records.append(
            {
                "n_genes": len(genes),
                "auroc": _auroc(positive, own),
                "spearman": _spearman(own, column),
                "auroc_chance": float(np.nanmean([_auroc(positive, block_scores[:, c]) for c in null_cols])),
                "spearman_chance": float(np.nanmean([_spearman(block_scores[:, c], column) for c in null_cols])),
            }
        )
    frame = pd.DataFrame.from_records(records)
    for name in ("auroc_chance", "spearman_chance"):
        if name not in frame:
            frame[name] = np.nan
    return frame


class _ColumnsOnRows:
    """One column at a time of ``activations[rows]``, dense; sparse activations are never densified whole."""

    def __init__(self, activations: np.ndarray | sp.spmatrix, rows: np.ndarray) -> None:
        if sp.issparse(activations):
            self.sparse: sp.csc_matrix | None = sp.csc_matrix(sp.csr_matrix(activations)[rows])
            self.sparse.sum_duplicates()
            self.dense = None
        else:
            self.sparse, self.dense = None, np.asarray(activations, dtype=np.float64)[rows]

    def column(self, j: int) -> np.ndarray:
        """Column ``j`` over the rows (the stored dtype)."""
        if self.dense is not None:
            return self.dense[:, j]
        start, stop = self.sparse.indptr[j], self.sparse.indptr[j + 1]
        out = np.zeros(self.sparse.shape[0], dtype=self.sparse.dtype)
        out[self.sparse.indices[start:stop]] = self.sparse.data[start:stop]
        return out


def summarise_explanation(frame: pd.DataFrame) -> dict[str, float]:
    """Means over scored components: ``explanation_auroc``, ``explanation_spearman`` and their ``_chance``."""
    scored = frame.dropna(subset=["auroc"])
    out = {"explanation_n_scored": len(scored)}
    for name in ("auroc", "spearman", "auroc_chance", "spearman_chance"):
        out[f"explanation_{name}"] = float(scored[name].mean()) if len(scored) else float("nan")
    return out
