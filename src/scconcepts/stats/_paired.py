"""Paired test across cells: whether a change moved each gene the same way in every cell."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from scconcepts.stats._multiple_testing import bh

#: Pseudo-count (in the unit of the values) added before taking logs.
PSEUDO_COUNT = 1e-4


@dataclass(frozen=True)
class PairedTest:
    """Per-gene result of :func:`paired_log_test` (arrays over genes).

    Attributes
    ----------
    lfc
        Mean over cells of ``log2((after + eps) / (before + eps))``.
    t
        One-sample t statistic of the per-cell log ratios (cells are the replicates).
    pval, padj
        Two-sided p-value and its Benjamini-Hochberg adjustment over genes.
    n_cells
        Cells (replicates) tested.

    """

    lfc: np.ndarray
    t: np.ndarray
    pval: np.ndarray
    padj: np.ndarray
    n_cells: int


def log_ratios(before: np.ndarray, after: np.ndarray, *, pseudo_count: float = PSEUDO_COUNT) -> np.ndarray:
    """Cells x genes ``log2((after + eps) / (before + eps))``."""
    return np.log2(after + pseudo_count) - np.log2(before + pseudo_count)


def paired_log_test(before: np.ndarray, after: np.ndarray, *, pseudo_count: float = PSEUDO_COUNT) -> PairedTest:
    """Test, gene by gene, whether ``after`` differs from ``before`` in the same cells (paired t on log ratios).

    Parameters
    ----------
    before, after
        Cells x genes non-negative values of the same cells (e.g. decoded expression before and after a change).
    pseudo_count
        Added to both before taking logs.

    Returns
    -------
    The mean log2 fold change, t, p-value and BH-adjusted p-value of every gene. A gene whose ratio is the
    same in every cell (no spread) gets ``t = ±inf`` and ``p = 0`` when its change is non-zero, ``p = 1`` when zero.

    """
    ratios = log_ratios(
        np.asarray(before, dtype=np.float64), np.asarray(after, dtype=np.float64), pseudo_count=pseudo_count
    )
    n = ratios.shape[0]
    lfc = ratios.mean(axis=0)
    if n < 2:
        t = np.full(lfc.shape, np.nan)
        pval = np.ones(lfc.shape)
    else:
        sd = ratios.std(axis=0, ddof=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = lfc / (sd / np.sqrt(n))
        pval = 2 * stats.t.sf(np.abs(t), df=n - 1)
        flat = sd <= 1e-12 * np.maximum(np.abs(lfc), 1e-300)
        t = np.where(flat, np.copysign(np.where(lfc == 0, 0.0, np.inf), lfc), t)
        pval = np.where(flat, np.where(np.abs(lfc) > 0, 0.0, 1.0), pval)
        pval = np.where(np.isnan(pval), 1.0, pval)
        t = np.where(np.isnan(t), 0.0, t)
    return PairedTest(lfc=lfc, t=t, pval=pval, padj=bh(pval), n_cells=n)
