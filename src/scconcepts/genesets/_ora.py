"""Over-representation (one-sided hypergeometric test) of each concept's selected genes in each set."""

from __future__ import annotations

import math

import numpy as np
from scipy import sparse
from scipy.special import gammaln

_TINY = 1e-17


def _log_pmf(i, n_total, n_set, n_drawn):
    return (
        gammaln(n_set + 1) - gammaln(i + 1) - gammaln(n_set - i + 1)
        + gammaln(n_total - n_set + 1) - gammaln(n_drawn - i + 1) - gammaln(n_total - n_set - n_drawn + i + 1)
        - gammaln(n_total + 1) + gammaln(n_drawn + 1) + gammaln(n_total - n_drawn + 1)
    )  # fmt: skip


def hypergeom_sf(overlap: np.ndarray, n_total: int, n_set: np.ndarray, n_drawn: np.ndarray) -> np.ndarray:
    """Return P(X >= overlap) for X hypergeometric (population ``n_total``, ``n_set`` successes, ``n_drawn`` draws).

    Vectorised: the upper tail is summed term by term from ``overlap`` up (it decays quickly above the
    mean); below the mean the complement of the short lower tail is used instead.
    """
    k = np.asarray(overlap, dtype=np.float64)
    big_k, n = np.broadcast_arrays(np.asarray(n_set, dtype=np.float64), np.asarray(n_drawn, dtype=np.float64))
    k, big_k, n = (np.array(x, dtype=np.float64).ravel() for x in np.broadcast_arrays(k, big_k, n))
    out = np.ones_like(k)
    low = np.maximum(0.0, n + big_k - n_total)
    high = np.minimum(n, big_k)
    need = k > low
    upper = need & (k > n * big_k / n_total)
    lower = need & ~upper
    out[k > high] = 0.0
    upper &= k <= high
    # upper tail: sum pmf(k), pmf(k + 1), ... while terms matter
    idx = np.flatnonzero(upper)
    total = np.zeros(idx.size)
    i = k[idx].copy()
    while idx.size:
        term = np.exp(_log_pmf(i, n_total, big_k[idx], n[idx]))
        total += term
        going = (term > _TINY * total) & (i + 1 <= high[idx])
        out[idx[~going]] = total[~going]
        idx, total, i = idx[going], total[going], i[going] + 1
    # lower side: 1 - P(X <= k - 1), summed from the lowest possible value
    idx = np.flatnonzero(lower)
    if idx.size:
        steps = int((k[idx] - low[idx]).max())
        cdf = np.zeros(idx.size)
        for step in range(steps):
            i = low[idx] + step
            live = i < k[idx]
            cdf += np.where(live, np.exp(_log_pmf(np.minimum(i, high[idx]), n_total, big_k[idx], n[idx])), 0.0)
        out[idx] = 1.0 - cdf
    return np.clip(out, 0.0, 1.0).reshape(np.broadcast(overlap, n_set, n_drawn).shape)


def hypergeom_sf_one(k: int, n_total: int, n_set: int, n_drawn: int) -> float:
    """Scalar :func:`hypergeom_sf` (same tails, plain floats) for the many single retests of ``elim``."""
    low, high = max(0, n_drawn + n_set - n_total), min(n_drawn, n_set)
    if k <= low:
        return 1.0
    if k > high:
        return 0.0
    const = (math.lgamma(n_set + 1) + math.lgamma(n_total - n_set + 1) - math.lgamma(n_total + 1)
             + math.lgamma(n_drawn + 1) + math.lgamma(n_total - n_drawn + 1))  # fmt: skip

    def pmf(i: int) -> float:
        return math.exp(const - math.lgamma(i + 1) - math.lgamma(n_set - i + 1) - math.lgamma(n_drawn - i + 1)
                        - math.lgamma(n_total - n_set - n_drawn + i + 1))  # fmt: skip

    if k > n_drawn * n_set / n_total:
        total = 0.0
        for i in range(k, high + 1):
            term = pmf(i)
            total += term
            if term <= _TINY * total:
                break
        return min(total, 1.0)
    return min(max(1.0 - sum(pmf(i) for i in range(low, k)), 0.0), 1.0)


def ora(selected: np.ndarray, membership: sparse.spmatrix) -> tuple[np.ndarray, np.ndarray]:
    """Return fold enrichments and p-values (concepts x sets) of over-representation.

    Parameters
    ----------
    selected
        Concepts x genes boolean matrix: each concept's significant genes within the background.
    membership
        Genes x sets 0/1 matrix over the same genes.

    """
    selected = np.asarray(selected, dtype=np.float64)
    membership = sparse.csc_matrix(membership)
    overlap = np.asarray(selected @ membership)
    sizes = np.asarray(membership.sum(axis=0)).ravel()[None, :]
    drawn = selected.sum(axis=1)[:, None]
    n = selected.shape[1]
    pvals = hypergeom_sf(overlap, n, sizes, drawn)
    with np.errstate(divide="ignore", invalid="ignore"):
        fold = np.where(drawn > 0, overlap / (drawn * sizes / n), 0.0)
    return fold, np.where(drawn > 0, pvals, 1.0)


def ora_one(selected: np.ndarray, concept: int, genes: np.ndarray) -> tuple[float, float]:
    """Return the fold enrichment and p-value of one concept against one set given by its gene rows."""
    row = np.asarray(selected[concept], dtype=bool)
    drawn, n = int(row.sum()), row.size
    if genes.size == 0 or drawn == 0:
        return 0.0, 1.0
    overlap = int(row[genes].sum())
    return overlap / (drawn * genes.size / n), hypergeom_sf_one(overlap, n, int(genes.size), drawn)
