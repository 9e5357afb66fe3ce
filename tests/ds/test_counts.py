"""``check_counts`` finds raw counts in X, a layer or raw, and refuses data without them."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from anndata import AnnData

import scconcepts.ds as ds
from scconcepts._errors import InputError


def _log_normalised(counts: AnnData) -> AnnData:
    matrix = counts.X.toarray()
    normalised = np.log1p(matrix / matrix.sum(axis=1, keepdims=True) * 1e4)
    return AnnData(X=sp.csr_matrix(normalised), obs=counts.obs.copy(), var=counts.var.copy())


def test_counts_in_x(counts):
    found = ds.check_counts(counts)
    assert found.in_x and found.source == "X"
    assert found.matrix(counts) is counts.X


def test_integer_dtype_and_dense_counts(counts):
    dense = AnnData(X=counts.X.toarray().astype(np.int64), obs=counts.obs, var=counts.var)
    assert ds.check_counts(dense).in_x
    assert ds.is_counts(dense.X)


def test_counts_layer_found_when_x_is_normalised(counts):
    adata = _log_normalised(counts)
    adata.layers["spliced_norm"] = adata.X.copy()
    adata.layers["counts"] = counts.X.copy()
    found = ds.check_counts(adata)
    assert found.layer == "counts" and found.source == "layers['counts']" and not found.in_x
    np.testing.assert_array_equal(found.matrix(adata).toarray(), counts.X.toarray())


def test_raw_found_when_x_is_normalised(cellxgene_like):
    found = ds.check_counts(cellxgene_like)
    assert found.use_raw and found.source == "raw.X"
    np.testing.assert_array_equal(found.matrix(cellxgene_like).toarray(), cellxgene_like.uns["expected_counts"])
    assert list(found.var_names(cellxgene_like)) == list(cellxgene_like.raw.var_names)


def test_no_counts_anywhere_is_refused_with_reasons(counts):
    adata = _log_normalised(counts)
    with pytest.raises(InputError) as caught:
        ds.check_counts(adata)
    message = str(caught.value)
    assert "X: it holds non-integer values" in message and "layers['counts']" in message
    assert "\n" not in message


def test_scaled_data_is_refused_as_negative(counts):
    dense = counts.X.toarray()
    scaled = AnnData(X=(dense - dense.mean(axis=0)) / (dense.std(axis=0) + 1), obs=counts.obs, var=counts.var)
    with pytest.raises(InputError, match="negative values"):
        ds.check_counts(scaled)


def test_named_layer_must_hold_counts(counts):
    adata = _log_normalised(counts)
    adata.layers["lognorm"] = adata.X.copy()
    with pytest.raises(InputError, match=r"layers\['lognorm'\] does not hold raw counts"):
        ds.check_counts(adata, layer="lognorm")
    with pytest.raises(InputError, match="layer 'counts' not found"):
        ds.check_counts(adata, layer="counts")


def test_named_raw_layer(cellxgene_like):
    assert ds.check_counts(cellxgene_like, layer="raw").use_raw
    with pytest.raises(InputError, match="does not hold raw counts"):
        ds.check_counts(cellxgene_like, layer="X")


def test_is_counts_tolerates_float_noise_but_not_fractions():
    assert ds.is_counts(np.array([[0.0, 1.0000001, 3.0]], dtype=np.float32))
    assert not ds.is_counts(np.array([[0.0, 1.5]]))
    assert not ds.is_counts(sp.csr_matrix(np.array([[0.0, np.nan]])))
