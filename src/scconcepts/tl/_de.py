"""The correlational baseline: Wilcoxon rank-sum DE between cells that activate a concept and cells that do not."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from anndata import AnnData
from scipy import stats

_GENES_PER_CHUNK = 256
#: Bytes of dense values and ranks held at once when genes are ranked densely (values of any sign).
_DENSE_BLOCK_BYTES = 256 * 2**20


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


def wilcoxon_scores(x: sp.spmatrix | np.ndarray, groups: sp.spmatrix | np.ndarray) -> np.ndarray:
    """Signed Wilcoxon rank-sum z-scores of every gene for each group against the rest of the cells.

    Ranks do not depend on the grouping, so each gene is ranked once over all cells and the rank
    sums of every group come from one matrix product. Ties get mid-ranks and the variance is tie-corrected.
    Sparse non-negative values (expression) are ranked without densifying: the zeros of a gene share one
    mid-rank, so memory grows with the non-zero entries, not with cells x genes.

    Parameters
    ----------
    x
        Cells x genes values.
    groups
        Cells x groups boolean membership (a cell may belong to several groups), dense or sparse.

    Returns
    -------
    Genes x groups z-scores; positive where a gene is higher in the group. Groups with no cell, or
    with every cell, get 0.

    """
    member = sp.csc_matrix(groups, dtype=np.float64) if sp.issparse(groups) else np.asarray(groups, dtype=np.float64)
    n = member.shape[0]
    n1 = np.asarray(member.sum(axis=0), dtype=np.float64).ravel()
    if sp.issparse(x) and (x.data >= 0).all():
        rank_sum, ties = _sparse_rank_sums(sp.csc_matrix(x), member)
    else:
        rank_sum, ties = _dense_rank_sums(x, member)
    n2 = n - n1
    u = rank_sum - n1 * (n1 + 1) / 2
    variance = n1 * n2 / 12 * ((n + 1) - ties[:, None] / (n * (n - 1)))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (u - n1 * n2 / 2) / np.sqrt(variance)
    return np.where(variance > 0, z, 0.0)


def _tie_term(counts: np.ndarray) -> float:
    counts = counts.astype(np.float64)
    return float((counts**3 - counts).sum())


def _sparse_rank_sums(x: sp.csc_matrix, member: sp.spmatrix | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rank sums (genes x groups) and tie terms of non-negative sparse columns, zeros sharing one mid-rank."""
    n = x.shape[0]
    if not x.has_canonical_format:  # sorted, single entries: nothing below may reorder the shared indices
        x = x.copy()
        x.sum_duplicates()
    # the ranks share x's row indices: only their values are a new array
    ranks = sp.csc_matrix((np.empty(x.data.size), x.indices, x.indptr), shape=x.shape, copy=False)
    ties = np.zeros(x.shape[1])
    zero_rank = np.zeros(x.shape[1])
    for j in range(x.shape[1]):
        start, stop = x.indptr[j], x.indptr[j + 1]
        values = x.data[start:stop]
        n_zero = n - values.size + int((values == 0).sum())
        positive = values > 0
        ranked = np.full(values.size, (n_zero + 1) / 2)
        ranked[positive] = n_zero + stats.rankdata(values[positive])
        ranks.data[start:stop] = ranked
        zero_rank[j] = (n_zero + 1) / 2
        _, counts = np.unique(values[positive], return_counts=True)
        ties[j] = _tie_term(counts) + _tie_term(np.array([n_zero]))
    n1 = np.asarray(member.sum(axis=0), dtype=np.float64).ravel()
    ranked_sum = _dense(ranks.T @ member)
    ranks.data.fill(1.0)  # the same entries now mark where a value is stored
    in_group_stored = _dense(ranks.T @ member)
    # each stored entry already carries its rank; the group's unstored cells are zeros at the zero mid-rank
    return ranked_sum + zero_rank[:, None] * (n1[None, :] - in_group_stored), ties


def _dense(product: sp.spmatrix | np.ndarray) -> np.ndarray:
    return np.asarray(product.todense() if sp.issparse(product) else product)


def _dense_rank_sums(x: sp.spmatrix | np.ndarray, member: sp.spmatrix | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rank sums (genes x groups) and tie terms, ranking blocks of genes densely (any sign of values)."""
    x = sp.csc_matrix(x) if sp.issparse(x) else np.asarray(x)
    rank_sum = np.zeros((x.shape[1], member.shape[1]))
    ties = np.zeros(x.shape[1])
    # a block's values and ranks (float64, cells x genes) and rankdata's work space stay within the budget
    per_chunk = int(np.clip(_DENSE_BLOCK_BYTES // (3 * 8 * max(x.shape[0], 1)), 1, _GENES_PER_CHUNK))
    for start in range(0, x.shape[1], per_chunk):
        block = x[:, start : start + per_chunk]
        block = block.toarray() if sp.issparse(block) else block
        ranks = stats.rankdata(block, axis=0)
        for j in range(block.shape[1]):
            ties[start + j] = _tie_term(np.unique(block[:, j], return_counts=True)[1])
        block_sum = ranks.T @ member if not sp.issparse(member) else (member.T @ ranks).T
        rank_sum[start : start + block.shape[1]] = np.asarray(block_sum)
    return rank_sum, ties
