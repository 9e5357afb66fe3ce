"""Concepts with very few cells: no significant genes from a variance on 1 degree of freedom; large ones still test."""

from __future__ import annotations

import numpy as np

from scconcepts.attribution import specific_scores
from scconcepts.attribution._specific import GENE_ALPHA, MIN_TEST_CELLS
from scconcepts.stats import benjamini_hochberg, matched_null_pvalues

N_GENES, N_CONCEPTS, DRIVERS = 300, 10, 5


def planted_sums(n_cells: int, seed: int):
    """Per-gene x concept sums over ``n_cells`` cells per concept.

    Every gene moves every concept alike (the same effect when expressed, expressed in a gene-specific share
    of cells); genes 0-4 also drive concept 0 strongly in all its cells.
    """
    rng = np.random.default_rng(seed)
    effect = rng.lognormal(-3, 0.7, N_GENES)
    share = rng.uniform(0.05, 0.9, N_GENES)
    expressed = rng.random((N_GENES, N_CONCEPTS, n_cells)) < share[:, None, None]
    changes = expressed * effect[:, None, None] * rng.lognormal(0, 0.1, (N_GENES, N_CONCEPTS, n_cells))
    changes[:DRIVERS, 0] = 6 * effect.max() * rng.lognormal(0, 0.3, (DRIVERS, n_cells))
    return changes.sum(axis=2), (changes**2).sum(axis=2)


def scores(n_cells: int, seed: int):
    total, squares = planted_sums(n_cells, seed)
    tested = np.ones(total.shape, dtype=bool)
    cells = np.full(N_CONCEPTS, n_cells)
    return specific_scores(total, squares, tested, squares > 0, cells, np.ones(N_CONCEPTS)), squares


def test_the_minimum_is_the_sign_flip_tests_resolution():
    assert MIN_TEST_CELLS == 5
    assert 2.0 ** -(MIN_TEST_CELLS - 1) > GENE_ALPHA >= 2.0**-MIN_TEST_CELLS


def test_two_cell_concepts_give_no_significant_non_specific_genes():
    non_specific = np.ones((N_GENES, N_CONCEPTS), dtype=bool)
    non_specific[:DRIVERS, 0] = False
    naive_share = []
    for seed in range(5):
        result, squares = scores(2, seed)
        assert (result.padj[non_specific] >= GENE_ALPHA).all()
        assert (result.pval == 1).all() and np.abs(result.specific).max() > 0  # untested, scores kept
        # The same statistic read against the normal, as before the rule, calls non-specific genes significant.
        valid = squares > 0
        _, naive = matched_null_pvalues(np.abs(result.raw) - result.reference, result.raw_se,
                                        np.abs(result.raw).mean(axis=1)[:, None], valid)  # fmt: skip
        padj = np.column_stack([benjamini_hochberg(naive[:, k]) for k in range(N_CONCEPTS)])
        naive_share.append((padj[non_specific] < GENE_ALPHA).mean())
    assert np.mean(naive_share) > 0.05  # the setting is one where the rule matters (about 12% of pairs)


def test_fifty_cell_concepts_still_find_the_planted_drivers():
    non_specific = np.ones((N_GENES, N_CONCEPTS), dtype=bool)
    non_specific[:DRIVERS, 0] = False
    for seed in range(5):
        result, _ = scores(50, seed)
        assert (result.padj[:DRIVERS, 0] < 1e-6).all()
        assert (result.padj[non_specific] < GENE_ALPHA).mean() <= 0.01
