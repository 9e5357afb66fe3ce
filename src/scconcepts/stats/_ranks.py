"""Rank-based normal scores: a heavy-tailed score made safe for tests that assume light tails."""

from __future__ import annotations

import numpy as np
from scipy import special, stats


def normal_scores(values: np.ndarray, *, axis: int = -1) -> np.ndarray:
    """Replace values by the standard-normal quantiles of their ranks along ``axis`` (van der Waerden scores).

    Ties share their mean rank; NaNs stay NaN. Order is kept, magnitudes are not: a gene with an
    effect a hundred times the next no longer carries a gene set on its own. Why it matters: concept-
    specific attribution scores on the sorted PBMC have a median kurtosis near 120, and ``ulm`` on them
    found a GO term for 37 of 40 concepts after the scores were permuted over genes (no structure left);
    on normal scores 2 of 40.
    """
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(values)
    ranks = stats.rankdata(np.where(finite, values, np.inf), axis=axis)
    n = finite.sum(axis=axis, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = special.ndtri((ranks - 0.5) / n)
    return np.where(finite, out, np.nan)
