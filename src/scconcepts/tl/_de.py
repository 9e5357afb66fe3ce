"""The correlational baseline: Wilcoxon rank-sum DE between cells that activate a concept and cells that do not."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from anndata import AnnData
from scipy import stats

_GENES_PER_CHUNK = 256


def log_normalised(adata: AnnData, *, layer: str | None = None) -> sp.csr_matrix:
    """Return ``log1p`` of counts scaled to 10,000 per cell when the values are counts, else the values as stored."""
    matrix = adata.X if layer is None else adata.layers[layer]
    x = sp.csr_matrix(matrix, dtype=np.float32)
    sample = x.data[:1_000_000]
    if sample.size and (sample >= 0).all() and np.allclose(sample, np.round(sample)):
        totals = np.asarray(x.sum(axis=1)).ravel()
        scale = np.divide(1e4, totals, out=np.zeros_like(totals), where=totals > 0)
        x = sp.csr_matrix(sp.diags(scale.astype(np.float32)) @ x)
        x.data = np.log1p(x.data)
    return x


def wilcoxon_scores(x: sp.spmatrix | np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Signed Wilcoxon rank-sum z-scores of every gene for each group against the rest of the cells.

    Ranks do not depend on the grouping, so each gene is ranked once over all cells and the rank
    sums of every group come from one matrix product. Ties get mid-ranks and the variance is tie-corrected.

    Parameters
    ----------
    x
        Cells x genes values.
    groups
        Cells x groups boolean membership (a cell may belong to several groups).

    Returns
    -------
    Genes x groups z-scores; positive where a gene is higher in the group. Groups with no cell, or
    with every cell, get 0.

    """
    x = sp.csc_matrix(x) if sp.issparse(x) else np.asarray(x)
    member = np.asarray(groups, dtype=np.float64)
    n = member.shape[0]
    n1 = member.sum(axis=0)
    n2 = n - n1
    out = np.zeros((x.shape[1], member.shape[1]))
    for start in range(0, x.shape[1], _GENES_PER_CHUNK):
        block = x[:, start : start + _GENES_PER_CHUNK]
        block = block.toarray() if sp.issparse(block) else block
        ranks = stats.rankdata(block, axis=0)
        ties = np.zeros(block.shape[1])
        for j in range(block.shape[1]):
            _, counts = np.unique(block[:, j], return_counts=True)
            ties[j] = (counts.astype(np.float64) ** 3 - counts).sum()
        rank_sum = ranks.T @ member  # genes x groups
        u = rank_sum - n1 * (n1 + 1) / 2
        variance = n1 * n2 / 12 * ((n + 1) - ties[:, None] / (n * (n - 1)))
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (u - n1 * n2 / 2) / np.sqrt(variance)
        out[start : start + block.shape[1]] = np.where(variance > 0, z, 0.0)
    return out
