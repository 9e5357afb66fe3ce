"""Selectivity: each label's best single component (AUROC over all cells), beside permuted labels."""

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from sklearn.metrics import roc_auc_score

from scconcepts.evaluation import component_selectivity, concept_selectivity, summarise_selectivity
from scconcepts.evaluation._selectivity import _Ranks


@pytest.fixture(scope="module")
def cells():
    """7 labels of unequal sizes; component 0 marks label 'a' (fires on it), component 1 marks 'b' by firing less."""
    rng = np.random.default_rng(0)
    labels = rng.choice(list("abcdefg"), size=1400, p=[0.05, 0.15, 0.2, 0.2, 0.2, 0.1, 0.1])
    x = np.where(rng.random((labels.size, 30)) < 0.3, rng.exponential(size=(labels.size, 30)), 0.0)
    x[:, 0] = np.where(labels == "a", 2.0 + rng.random(labels.size), 0.0)
    x[:, 1] = np.where(labels == "b", 0.0, 1.0 + rng.random(labels.size))
    return x, labels


def test_auroc_is_the_mann_whitney_statistic_dense_and_sparse_with_ties():
    rng = np.random.default_rng(1)
    labels = rng.integers(4, size=300)
    x = np.where(rng.random((300, 6)) < 0.4, rng.exponential(size=(300, 6)), 0.0)
    x[:20, 0] = -1.0  # negatives below the implicit zeros
    x[30:60, 1] = x[5, 1]  # a tie among stored values
    expected = np.array([[roc_auc_score(labels == t, x[:, j]) for j in range(6)] for t in range(4)])
    for matrix in (x, sparse.csr_matrix(x)):
        np.testing.assert_allclose(_Ranks(matrix).auroc(labels, 4), expected, atol=1e-12)


def test_each_label_gets_its_best_component_and_signs_count_only_for_signed_methods(cells):
    x, labels = cells
    unsigned = component_selectivity(sparse.csr_matrix(x), labels, signed=False, n_permutations=5)
    assert unsigned["best"]["a"] == pytest.approx(1.0) and unsigned["component"]["a"] == 0
    assert unsigned["best"]["b"] < 0.7  # marking 'b' by being off there is no concept's way of marking it
    signed = component_selectivity(x, labels, signed=True, n_permutations=5)
    assert signed["best"]["b"] == pytest.approx(1.0) and signed["component"]["b"] == 1
    for chance in (unsigned["chance"], signed["chance"]):  # the best of 30 noise components: above 0.5, far below 1
        assert all(0.5 < value < 0.65 for value in chance.values()), chance


def test_concept_selectivity_reads_the_top_label_against_its_size(cells):
    x, labels = cells
    frame = concept_selectivity(sparse.csr_matrix(x), labels)
    row = frame.loc[0]
    assert row["top_label"] == "a" and row["mass_share"] == pytest.approx(1.0) and row["auroc"] == pytest.approx(1.0)
    assert row["cell_share"] == pytest.approx((labels == "a").mean())
    assert row["lift"] == pytest.approx(1 / (labels == "a").mean())
    assert frame.loc[1, "top_label"] != "b"


def test_summary_averages_seeds_and_reports_the_concepts_chance(cells):
    x, labels = cells
    units = [
        ("sae", 0, component_selectivity(x[:, :10], labels, signed=False, n_permutations=3, seed=0)),
        ("sae", 1, component_selectivity(x[:, 10:], labels, signed=False, n_permutations=3, seed=1)),
        ("pca", 0, component_selectivity(x, labels, signed=True, n_permutations=3)),
        ("random_directions", 0, None),
    ]
    result = summarise_selectivity(units, labels, run_activations=sparse.csr_matrix(x[:, :5]), n_permutations=3)
    table = result["table"]
    assert list(table.index) == list("abcdefg")
    assert table["n_cells"].sum() == labels.size
    assert table.loc["a", "sae"] == pytest.approx((1.0 + units[1][2]["best"]["a"]) / 2)
    assert (table["chance"] == table["sae_chance"]).all() and "random_directions" not in table
    assert result["mean"]["pca"] == pytest.approx(table["pca"].mean())
    assert result["mean"]["sae"] > result["mean"]["chance"]
    assert result["params"]["either_sign"] == ["pca"] and result["params"]["n_seeds"]["sae"] == 2
    assert isinstance(result["concepts"], pd.DataFrame) and len(result["concepts"]) == 5
