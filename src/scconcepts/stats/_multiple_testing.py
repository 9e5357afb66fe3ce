"""Multiple-testing correction: Benjamini-Hochberg, over all p-values or row by row, missing p-values ignored."""

from __future__ import annotations

import numpy as np


def bh_rows(pvals: np.ndarray) -> np.ndarray:
    """Return Benjamini-Hochberg adjusted p-values of each row of ``pvals`` (NaN stays NaN)."""
    pvals = np.atleast_2d(np.asarray(pvals, dtype=np.float64))
    out = np.full_like(pvals, np.nan)
    for i, row in enumerate(pvals):
        ok = np.flatnonzero(np.isfinite(row))
        if ok.size == 0:
            continue
        order = ok[np.argsort(row[ok], kind="stable")]
        ranked = row[order] * ok.size / np.arange(1, ok.size + 1)
        out[i, order] = np.minimum(np.minimum.accumulate(ranked[::-1])[::-1], 1.0)
    return out


def bh(pvals: np.ndarray) -> np.ndarray:
    """Return Benjamini-Hochberg adjusted p-values over all entries of ``pvals`` together (NaN stays NaN)."""
    pvals = np.asarray(pvals, dtype=np.float64)
    return bh_rows(pvals.reshape(1, -1)).reshape(pvals.shape)


def benjamini_hochberg(pvalues: np.ndarray) -> np.ndarray:
    """Return Benjamini-Hochberg adjusted p-values (same shape as the 1-d input; :func:`bh` under its long name)."""
    return bh(pvalues)
