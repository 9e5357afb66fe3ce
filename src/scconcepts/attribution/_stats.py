"""Significance of attribution scores: an empirical null per concept and Benjamini-Hochberg FDR.

Why this null
-------------
The encoder and the SAE are deterministic functions, so "perturbing gene g leaves the concept
unchanged" is almost never exactly true: nearly every gene that feeds the model moves every active
concept a little. A test of "mean change = 0" over the perturbed cells (t-test, sign flips) would
therefore call nearly every gene significant once enough cells are used; and the changes on cells
that do not activate the concept are almost all exactly zero (the SAE's ReLU/Top-K holds them at 0),
which gives a degenerate null. The question a user asks is instead "does this gene drive the
concept more than genes in general do?". Following Efron's empirical-null approach for large-scale
testing (Efron 2004, JASA 99:96-104), the null distribution of a concept's scores is estimated from
the bulk of that concept's own scores over the tested genes: centre = median, scale = 1.4826 x the
median absolute deviation (robust to the few genuine drivers in the tails). Two-sided normal
p-values follow, adjusted per concept with Benjamini-Hochberg (each concept is its own family of
tests, as with per-cluster marker genes). The scale is floored at :data:`MIN_NULL_SCALE` (changes
below 0.01% of the concept's mean activation are floating-point noise), so that when most genes have
exactly no effect only genes with a real effect are significant.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

#: Smallest null scale, in units of the concept's mean activation.
MIN_NULL_SCALE = 1e-4
_MAD_TO_SD = 1.4826


def benjamini_hochberg(pvalues: np.ndarray) -> np.ndarray:
    """Return Benjamini-Hochberg adjusted p-values (same shape as the 1-d input)."""
    p = np.asarray(pvalues, dtype=np.float64)
    n = p.size
    if n == 0:
        return p.copy()
    order = np.argsort(p)
    ranked = p[order] * n / np.arange(1, n + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    adjusted = np.empty(n)
    adjusted[order] = np.clip(ranked, 0, 1)
    return adjusted


def empirical_null_pvalues(scores: np.ndarray, tested: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided p-values and BH-adjusted p-values of each gene's score against its concept's empirical null.

    Parameters
    ----------
    scores
        Genes x concepts attribution scores (normalised by the concept's mean activation).
    tested
        Genes x concepts mask of the scores that were measured (the gene was perturbed in at least one
        of the concept's cells); untested entries get p = padj = 1.

    Returns
    -------
    ``(pval, padj)``, both genes x concepts float64.

    """
    pval = np.ones(scores.shape, dtype=np.float64)
    padj = np.ones(scores.shape, dtype=np.float64)
    for concept in range(scores.shape[1]):
        mask = tested[:, concept]
        values = scores[mask, concept].astype(np.float64)
        if values.size == 0:
            continue
        centre = np.median(values)
        scale = max(_MAD_TO_SD * np.median(np.abs(values - centre)), MIN_NULL_SCALE)
        p = 2 * stats.norm.sf(np.abs(values - centre) / scale)
        pval[mask, concept] = p
        padj[mask, concept] = benjamini_hochberg(p)
    return pval, padj
