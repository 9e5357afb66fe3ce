"""The baseline method hands the engine only the chosen cells' rows and the profiles, not every cell's expression."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from scconcepts.attribution import get_strategy, inactive_means, run_attribution, select_cells
from scconcepts.attribution._strategies import GeneStatistics
from scconcepts.tl._attribute import _with_baselines
from scconcepts.tl._concept_model import _components


def test_inactive_means_by_hand(monkeypatch):
    from scconcepts.attribution import _cells

    x = sp.csr_matrix(np.arange(12, dtype=np.float32).reshape(4, 3))
    activations = sp.csr_matrix(np.array([[1.0, 1], [0, 1], [0, 1], [1, 1]]))
    expected = np.array([[4.5, 5.5, 6.5], x.toarray().mean(axis=0)])  # rows 1-2; everywhere: all rows
    np.testing.assert_allclose(inactive_means(x, activations, np.array([0, 1])), expected)
    monkeypatch.setattr(_cells, "_MEAN_ROWS", 1)  # summed one cell at a time
    np.testing.assert_allclose(inactive_means(x, activations, np.array([0, 1])), expected)


@pytest.mark.parametrize("engine", ["exact", "shortcut"])
def test_chosen_rows_give_the_result_of_all_rows(planted, engine):
    adata, encoder, concepts = planted
    activations = sp.csr_matrix(adata.obsm["X_concepts"])
    ids = np.arange(activations.shape[1])
    chosen = select_cells(activations, ids, n_cells=20)
    x = encoder.expression(adata)
    zeros = np.zeros(x.shape[1], np.float32)
    options = {"strategy": get_strategy("baseline"), "engine": engine, "genes": "expressed", "batch_size": 64,
               "stats": GeneStatistics(mean=zeros, high=zeros)}  # fmt: skip
    # every cell's rows, then the profiles (how the rows were built before)
    everything = sp.vstack([x, sp.csr_matrix(inactive_means(x, activations, ids))], format="csr")
    sources = [np.full(c.size, x.shape[0] + j) for j, c in enumerate(chosen)]
    components = _components(concepts)
    before = run_attribution(encoder, components, everything, None, ids, chosen, neighbours=sources, **options)
    rows, _, local, neighbours = _with_baselines(x, None, activations, ids, chosen)
    assert rows.shape[0] == np.unique(np.concatenate(chosen)).size + len(ids) < x.shape[0]
    after = run_attribution(encoder, components, rows, None, ids, local, neighbours=neighbours, **options)
    np.testing.assert_array_equal(after.raw, before.raw)
    np.testing.assert_array_equal(after.pval, before.pval)
