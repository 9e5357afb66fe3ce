"""The bundled datasets: real cells with integer counts that agree with their sources."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import scipy.sparse as sp

import scconcepts.ds as ds
from scconcepts._errors import InputError
from scconcepts.ds._immune_sample import immune_sample_path


@pytest.fixture(scope="module")
def pbmc():
    return ds.pbmc68k()


@pytest.fixture(scope="module")
def immune():
    return ds.immune_sample()


def test_pbmc68k_shape_and_labels(pbmc):
    assert pbmc.shape == (700, 765)
    assert pbmc.obs["cell_type"].nunique() == 10
    assert pbmc.obs["cell_type"].dtype == "category"
    assert pbmc.obsm["X_umap"].shape == (700, 2)


def test_pbmc68k_counts_are_integers_that_rebuild_scanpy_raw(pbmc):
    import scanpy as sc

    assert sp.isspmatrix_csr(pbmc.X) and pbmc.X.dtype == np.float32
    values = pbmc.X.data
    assert values.min() >= 0 and np.array_equal(values, np.round(values))
    raw = sc.datasets.pbmc68k_reduced().raw.to_adata()
    assert list(raw.var_names) == list(pbmc.var_names)
    rows = [0, 1, 137, 512, 699]
    n_counts = pbmc.obs["n_counts"].to_numpy()[rows, None]
    rebuilt = np.log1p(pbmc.X[rows].toarray() / n_counts * 1e4)
    original = raw.X[rows].toarray() if sp.issparse(raw.X) else np.asarray(raw.X)[rows]
    assert np.abs(rebuilt - original).max() < 1e-2
    assert ds.check_counts(pbmc).in_x


def test_immune_sample_shape_and_counts(immune):
    assert immune.shape == (559, 32786)
    assert sp.isspmatrix_csr(immune.X) and immune.X.dtype == np.float32
    values = immune.X.data
    assert values.min() > 0 and np.array_equal(values, np.round(values))
    assert immune.var_names.is_unique and immune.obs_names.is_unique
    assert "cell_type" not in immune.obs
    assert ds.check_counts(immune).in_x
    np.testing.assert_allclose(immune.obs["n_counts"], np.asarray(immune.X.sum(axis=1)).ravel())


def test_immune_sample_matches_the_csv_read_independently(immune):
    with open(immune_sample_path(), newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = [next(reader) for _ in range(3)]
    assert list(immune.var_names) == header[1:]
    for i, row in enumerate(rows):
        assert immune.obs_names[i] == row[0]
        expected = np.round(np.array(row[1:], dtype=float))
        np.testing.assert_array_equal(immune.X[i].toarray().ravel(), expected)


def test_registry_lists_and_loads(pbmc):
    assert set(ds.DATASETS) == {"pbmc_sorted", "pbmc68k", "immune_sample"}
    assert ds.load_dataset("pbmc68k").shape == pbmc.shape


def test_registry_unknown_name_lists_valid_ones():
    with pytest.raises(InputError, match="immune_sample, pbmc68k, pbmc_sorted") as error:
        ds.load_dataset("pbmc3k")
    assert "pbmc3k" in str(error.value) and "\n" not in str(error.value)


def test_pbmc_sorted_is_500_of_each_sorted_type_with_integer_counts():
    sorted_cells = ds.pbmc_sorted()
    assert sorted_cells.shape == (3500, 8846)
    assert sorted_cells.obs["cell_type"].value_counts().to_dict() == {
        name: 500 for name in ["B", "CD4TCM", "CD4TN", "CD4Treg", "CD8TN", "Monocyte", "NK"]
    }
    assert "CD4+/CD25 T Reg" in set(sorted_cells.obs["gate"])
    values = sorted_cells.X.data
    np.testing.assert_array_equal(values, np.round(values))
    # Genes outside scMINER's filter are absent, so each cell keeps a little less than its original library.
    assert np.all(np.asarray(sorted_cells.X.sum(axis=1)).ravel() <= sorted_cells.obs["nUMI"].to_numpy())
    assert {"CD79A", "GNLY", "LYZ", "CD8A", "CCR7"} <= set(sorted_cells.var_names)
