"""Bad inputs to ``scconcepts.ds.read`` give one-line InputErrors that say what to fix."""

from __future__ import annotations

import h5py
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from anndata import AnnData

import scconcepts.ds as ds
from scconcepts._errors import InputError


def _error(path, **options) -> str:
    with pytest.raises(InputError) as caught:
        ds.read(path, **options)
    message = str(caught.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_missing_path(tmp_path):
    message = _error(tmp_path / "nowhere.h5ad")
    assert "does not exist" in message and "supported" in message


def test_unknown_extension(tmp_path):
    (tmp_path / "cells.xlsx").write_bytes(b"PK\x03\x04")
    assert "unknown file type '.xlsx'" in _error(tmp_path / "cells.xlsx")


def test_text_file_named_h5ad(tmp_path):
    (tmp_path / "cells.h5ad").write_text("hello, this is not HDF5\n")
    message = _error(tmp_path / "cells.h5ad")
    assert "not an HDF5 file" in message and "'hello, this is not HDF5'" in message and ".h5ad" in message


def test_text_file_named_10x_h5(tmp_path):
    (tmp_path / "m.h5").write_text("gene,cell\n")
    assert "cannot be a 10x .h5 file" in _error(tmp_path / "m.h5")


def test_hdf5_that_is_not_anndata(tmp_path):
    with h5py.File(tmp_path / "other.h5ad", "w") as handle:
        handle.create_dataset("weights", data=np.arange(4))
    assert "is HDF5 but not a readable AnnData file" in _error(tmp_path / "other.h5ad")


def test_hdf5_that_is_not_10x(tmp_path, counts):
    counts.write_h5ad(tmp_path / "anndata.h5")
    message = _error(tmp_path / "anndata.h5")
    assert "not a 10x Genomics matrix" in message and "use the .h5ad extension" in message


def test_zarr_name_without_store(tmp_path):
    (tmp_path / "cells.zarr").mkdir()
    assert "not a zarr store" in _error(tmp_path / "cells.zarr")


def test_folder_that_is_nothing_known(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    assert "folder without matrix.mtx" in _error(tmp_path)


def test_incomplete_mtx_folder(tmp_path):
    (tmp_path / "matrix.mtx.gz").write_bytes(b"")
    message = _error(tmp_path)
    assert "not a complete 10x mtx folder" in message and "features.tsv.gz" in message


def test_binary_file_named_csv(tmp_path):
    (tmp_path / "cells.csv").write_bytes(bytes(range(256)) * 4)
    assert "not a text table" in _error(tmp_path / "cells.csv")


def test_empty_csv(tmp_path):
    (tmp_path / "cells.csv").write_text("")
    assert "is empty" in _error(tmp_path / "cells.csv")


def test_zero_cells_csv(tmp_path):
    (tmp_path / "cells.csv").write_text("cell,CD3E,MS4A1\n")
    message = _error(tmp_path / "cells.csv")
    assert "no cells (0 x 2)" in message and "transpose" in message


def test_zero_cells_h5ad(tmp_path, counts):
    counts[:0].copy().write_h5ad(tmp_path / "empty.h5ad")
    assert "no cells" in _error(tmp_path / "empty.h5ad")


def test_zero_genes(tmp_path, counts):
    counts[:, :0].copy().write_h5ad(tmp_path / "nogenes.h5ad")
    assert "no genes (30 x 0)" in _error(tmp_path / "nogenes.h5ad")


def test_zero_genes_csv(tmp_path):
    (tmp_path / "ids.csv").write_text("cell\nc1\nc2\n")
    assert "no genes" in _error(tmp_path / "ids.csv")


def test_duplicate_gene_names_refused_when_asked(tmp_path, counts):
    counts.var_names = ["CD3E", "CD3E", *counts.var_names[2:]]
    counts.write_h5ad(tmp_path / "dup.h5ad")
    message = _error(tmp_path / "dup.h5ad", make_unique=False)
    assert "1 duplicate gene name(s) ('CD3E')" in message and "var_names_make_unique" in message


def test_empty_gene_name(tmp_path):
    (tmp_path / "cells.csv").write_text("cell,CD3E,\nc1,1,2\n")
    assert "empty gene name" in _error(tmp_path / "cells.csv")


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_values_name_the_cell_and_gene(tmp_path, counts, value):
    dense = counts.X.toarray()
    dense[7, 5] = value
    AnnData(X=sp.csr_matrix(dense), obs=counts.obs, var=counts.var).write_h5ad(tmp_path / "nan.h5ad")
    message = _error(tmp_path / "nan.h5ad")
    assert "non-finite value" in message and "'cell7'" in message and "'GENE5'" in message


def test_dense_nan_found(tmp_path, counts):
    dense = counts.X.toarray()
    dense[29, 11] = np.nan
    AnnData(X=dense, obs=counts.obs, var=counts.var).write_h5ad(tmp_path / "nan.h5ad")
    assert "'cell29', gene 'GENE11'" in _error(tmp_path / "nan.h5ad")


def test_text_column_in_csv(tmp_path, counts):
    frame = pd.DataFrame(counts.X.toarray().astype(int), index=counts.obs_names, columns=counts.var_names)
    frame.insert(2, "donor", "D1")
    frame.to_csv(tmp_path / "meta.csv")
    message = _error(tmp_path / "meta.csv")
    assert "column 'donor' holds text (e.g. 'D1')" in message


def test_ragged_csv(tmp_path):
    (tmp_path / "ragged.csv").write_text("cell,A,B\nc1,1,2\nc2,1,2,3,4\n")
    assert "not a regular table" in _error(tmp_path / "ragged.csv")


def test_header_row_length_mismatch(tmp_path):
    (tmp_path / "short.csv").write_text("cell,A,B,C,D\nc1,1,2\nc2,3,4\n")
    assert "the header has 5 names but rows have 2 values" in _error(tmp_path / "short.csv")


def test_unknown_layer_lists_layers(tmp_path, counts):
    counts.layers["spliced"] = counts.X.copy()
    counts.write_h5ad(tmp_path / "layers.h5ad")
    assert "no layer 'counts' (layers: 'spliced')" in _error(tmp_path / "layers.h5ad", layer="counts")


def test_transpose_only_for_tables(tmp_path, counts):
    counts.write_h5ad(tmp_path / "cells.h5ad")
    assert "transpose applies to CSV/TSV tables only" in _error(tmp_path / "cells.h5ad", transpose=True)
