"""Univariate linear model (decoupler's ``ulm``) over sparse gene sets, all concepts at once.

For a concept's gene scores ``y`` and a set's 0/1 indicator ``x`` over the background, ``ulm`` fits
``y = b0 + b1 x`` and reports the t-value of ``b1`` with a two-sided p-value (``n - 2`` degrees of
freedom). With a binary ``x`` every quantity follows from the sum of ``y`` over the set, so the
statistic is a sparse product instead of the dense genes x sets matrix decoupler builds: identical
numbers (tests compare with ``decoupler.mt.ulm``) in a fraction of the memory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import sparse, special


@dataclass(frozen=True)
class UlmState:
    """Per-concept summaries of the scores that any set's ``ulm`` statistic needs."""

    y: np.ndarray  # concepts x genes
    mean: np.ndarray  # per concept
    ssd: np.ndarray  # per concept: sum of squared deviations

    @classmethod
    def of(cls, y: np.ndarray) -> UlmState:
        """Summarise a concepts x genes score matrix."""
        y = np.asarray(y, dtype=np.float64)
        mean = y.mean(axis=1)
        return cls(y=y, mean=mean, ssd=((y - mean[:, None]) ** 2).sum(axis=1))

    @property
    def n(self) -> int:
        """Number of background genes."""
        return self.y.shape[1]


def _tstat(state: UlmState, sums: np.ndarray, sizes: np.ndarray, rows: slice | np.ndarray) -> tuple:
    n = state.n
    df = n - 2
    sxx = sizes * (n - sizes) / n
    sxy = sums - sizes * state.mean[rows, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        r = sxy / np.sqrt(sxx * state.ssd[rows, None])
        r = np.clip(np.nan_to_num(r, nan=0.0), -1.0, 1.0)
        t = r * np.sqrt(df / ((1.0 - r + 2.2e-16) * (1.0 + r + 2.2e-16)))
    return t, 2.0 * special.stdtr(df, -np.abs(t))


def ulm(state: UlmState, membership: sparse.spmatrix) -> tuple[np.ndarray, np.ndarray]:
    """Return the t-values and two-sided p-values (concepts x sets) of ``ulm``.

    Parameters
    ----------
    state
        :meth:`UlmState.of` the concepts x genes scores.
    membership
        Genes x sets 0/1 matrix over the same genes.

    """
    membership = sparse.csc_matrix(membership)
    sums = state.y @ membership  # dense concepts x genes times sparse genes x sets
    sizes = np.asarray(membership.sum(axis=0)).ravel()
    return _tstat(state, np.asarray(sums), sizes[None, :], slice(None))


def ulm_one(state: UlmState, concept: int, genes: np.ndarray) -> tuple[float, float]:
    """Return ``ulm``'s t-value and p-value of one concept against one set given by its gene rows."""
    n, k = state.n, float(genes.size)
    if k == 0 or k >= n:
        return 0.0, 1.0
    sxy = float(state.y[concept, genes].sum()) - k * float(state.mean[concept])
    denominator = math.sqrt(k * (n - k) / n * float(state.ssd[concept]))
    r = min(max(sxy / denominator, -1.0), 1.0) if denominator > 0 else 0.0
    t = r * math.sqrt((n - 2) / ((1.0 - r + 2.2e-16) * (1.0 + r + 2.2e-16)))
    return t, float(2.0 * special.stdtr(n - 2, -abs(t)))
