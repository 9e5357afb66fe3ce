"""BH, the empirical null, the Wilcoxon baseline and counterfactual neighbours against independent computations."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy import stats
from statsmodels.stats.multitest import multipletests

from scconcepts.attribution import benjamini_hochberg, counterfactual_neighbours, empirical_null_pvalues, select_cells
from scconcepts.tl._de import wilcoxon_scores


def test_benjamini_hochberg_matches_statsmodels():
    p = np.random.default_rng(0).uniform(0, 1, 200) ** 3
    np.testing.assert_allclose(benjamini_hochberg(p), multipletests(p, method="fdr_bh")[1])


def test_empirical_null_flags_only_outliers():
    rng = np.random.default_rng(1)
    scores = rng.normal(0.01, 0.002, (300, 2))
    scores[:4, 0] = [0.2, 0.15, -0.12, 0.1]
    tested = np.ones_like(scores, dtype=bool)
    tested[250:, 1] = False
    pval, padj = empirical_null_pvalues(scores, tested)
    assert (padj[:4, 0] < 1e-6).all()
    assert (padj[4:, 0] < 0.05).sum() <= 3  # null genes: few false discoveries at 5% FDR
    assert (pval[250:, 1] == 1).all() and (padj[250:, 1] == 1).all()
    assert 0.2 < np.median(pval[4:250, 1]) < 0.8  # roughly uniform under the null


def test_exactly_zero_effects_are_not_significant():
    scores = np.zeros((50, 1))
    scores[:2, 0] = [0.3, 0.01]
    _, padj = empirical_null_pvalues(scores, np.ones_like(scores, dtype=bool))
    assert (padj[:2, 0] < 0.05).all() and (padj[2:, 0] == 1).all()


def test_wilcoxon_matches_scipy():
    rng = np.random.default_rng(2)
    x = rng.poisson(1.5, (90, 12)).astype(float)  # many ties
    x[:30, 0] += 3
    groups = np.zeros((90, 2), dtype=bool)
    groups[:30, 0] = True
    groups[rng.choice(90, 40, replace=False), 1] = True
    z = wilcoxon_scores(sp.csr_matrix(x), groups)
    for k in range(2):
        for g in range(12):
            res = stats.mannwhitneyu(x[groups[:, k], g], x[~groups[:, k], g], method="asymptotic", use_continuity=False)
            assert abs(abs(z[g, k]) - stats.norm.isf(res.pvalue / 2)) < 1e-6
    assert z[0, 0] > 5


def test_cells_and_neighbours_brute_force():
    rng = np.random.default_rng(3)
    act = np.maximum(rng.normal(0, 1, (60, 3)), 0)
    act[:, 2] = 0
    act[:5, 2] = [3, 1, 2, 5, 4]
    emb = rng.normal(0, 1, (60, 4))
    chosen = select_cells(sp.csr_matrix(act), np.arange(3), n_cells=4)
    assert list(chosen[2]) == [3, 4, 0, 2]
    for k in range(2):
        assert list(chosen[k]) == list(np.argsort(-act[:, k])[:4])
    neighbours = counterfactual_neighbours(emb, sp.csr_matrix(act), np.arange(3), chosen)
    for k in range(3):
        for cell, near in zip(chosen[k], neighbours[k], strict=True):
            dist = ((emb - emb[cell]) ** 2).sum(axis=1)
            dist[act[:, k] > 0] = np.inf
            assert near == np.argmin(dist)
