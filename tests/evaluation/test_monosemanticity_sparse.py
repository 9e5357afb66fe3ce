"""Monosemanticity of sparse activations, read column by column, equals the dense computation."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from scconcepts.evaluation import monosemanticity
from scconcepts.evaluation._monosemanticity import top_cell_sets


def sparse_activations(seed: int = 0) -> sp.csr_matrix:
    """Cells x components with ties (repeated values), dead and nearly dead columns and a negative entry."""
    rng = np.random.default_rng(seed)
    n_cells, n_components = 600, 12
    values = rng.choice([0.5, 1.0, 1.5, 2.0], size=(n_cells, n_components)).astype(np.float32)
    values *= rng.random((n_cells, n_components)) < 0.15
    values[:, 3] = 0  # dead
    values[:3, 4], values[3:, 4] = 1.0, 0  # three active cells: fewer than min_cells
    values[7, 5] = -1.0
    values[10, 6] = 1e-9  # below the activity threshold
    return sp.csr_matrix(values)


@pytest.mark.parametrize("signed", [False, True])
def test_sparse_top_cells_equal_dense(signed):
    activations = sparse_activations()
    dense = activations.toarray()
    sparse_sets, n_top = top_cell_sets(activations, signed=signed)
    dense_sets, dense_n_top = top_cell_sets(dense, signed=signed)
    assert n_top == dense_n_top == 30
    assert len(sparse_sets) == len(dense_sets) >= 9
    for a, b in zip(sparse_sets, dense_sets, strict=True):
        np.testing.assert_array_equal(a, b)  # same cells in the same order, ties included


def test_sparse_monosemanticity_equals_dense():
    activations = sparse_activations(seed=1)
    labels = np.random.default_rng(2).choice(["T", "B", "NK"], size=activations.shape[0])
    options = {"n_top": 40, "n_permutations": 3, "seed": 0}
    assert monosemanticity(activations, labels, **options) == monosemanticity(activations.toarray(), labels, **options)
    csc = sp.csc_matrix(activations)
    assert monosemanticity(csc, labels, **options) == monosemanticity(activations.toarray(), labels, **options)


def test_ami_from_counts_equals_scikit_learn():
    from sklearn.metrics import adjusted_mutual_info_score

    from scconcepts.evaluation import top_cell_ami

    rng = np.random.default_rng(3)
    labels = rng.choice(["T", "B", "NK", "Mono"], size=400, p=[0.5, 0.3, 0.15, 0.05])
    cases = [rng.choice(400, size, replace=False) for size in (1, 5, 40, 200, 399)]
    cases += [np.flatnonzero(labels == "NK"), np.arange(400), np.array([], dtype=int)]
    for selected in cases:
        member = np.zeros(400, dtype=int)
        member[selected] = 1
        expected = adjusted_mutual_info_score(labels, member)
        assert top_cell_ami(selected, labels) == pytest.approx(expected, rel=1e-12, abs=1e-14)
    one_type = np.array(["T"] * 10)
    assert top_cell_ami(np.array([1, 2]), one_type) == adjusted_mutual_info_score(one_type, [0, 1, 1] + [0] * 7)
