"""The specific contrast, the Wilcoxon baseline and counterfactual neighbours against independent computations."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy import stats

from scconcepts.attribution import counterfactual_neighbours, select_cells, specific_scores
from scconcepts.attribution._specific import _reference
from scconcepts.tl._de import wilcoxon_scores


def test_reference_is_the_median_of_the_other_concepts():
    rng = np.random.default_rng(0)
    for n in (2, 3, 6, 7):
        magnitude = rng.random((40, n))
        magnitude[:, 1] = magnitude[:, 0]  # ties
        expected = np.array([[np.median(np.delete(row, k)) for k in range(n)] for row in magnitude])
        np.testing.assert_allclose(_reference(magnitude), expected)
    assert (_reference(rng.random((5, 1))) == 0).all()


def test_specific_scores_from_sums():
    # 3 genes x 3 concepts, 4 cells each, mean activation 2: gene 0 moves every concept alike, gene 1 only
    # concept 0, gene 2 nothing.
    changes = np.zeros((3, 3, 4))
    changes[0] = [0.4, 0.6, 0.4, 0.6]
    changes[1, 0] = [0.8, 1.2, 1.0, 1.0]
    total, squares = changes.sum(axis=2), (changes**2).sum(axis=2)
    tested = np.ones((3, 3), dtype=bool)
    result = specific_scores(total, squares, tested, squares > 0, np.array([4, 4, 4]), np.array([2.0, 2.0, 2.0]))
    np.testing.assert_allclose(result.raw[:, 0], [0.25, 0.5, 0])
    np.testing.assert_allclose(result.raw_se[1, 0], np.std(changes[1, 0] / 2, ddof=1) / 2)
    np.testing.assert_allclose(result.specific[:, 0], [0, 0.5, 0])  # gene 0: 0.25 - median(0.25, 0.25)
    np.testing.assert_allclose(result.specific[1, 1:], 0)  # 0 - median(0.5, 0) is negative: clipped
    assert (result.pval[2] == 1).all() and (result.padj[2] == 1).all()  # no change at all: never significant


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
