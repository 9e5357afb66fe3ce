"""``scconcepts.ds.read`` round trips: every supported format gives back the matrix and names written."""

from __future__ import annotations

import gzip
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import scipy.io
import scipy.sparse as sp
from anndata import AnnData

import scconcepts.ds as ds
from scconcepts._errors import InputError


def _same(read: AnnData, expected: AnnData) -> None:
    assert sp.isspmatrix_csr(read.X) and read.X.dtype == np.float32
    assert list(read.obs_names) == list(expected.obs_names)
    assert list(read.var_names) == list(expected.var_names)
    np.testing.assert_array_equal(read.X.toarray(), expected.X.toarray())


def _write_gz(path: Path, lines: list[str]) -> None:
    with gzip.open(path, "wt") as handle:
        handle.write("\n".join(lines) + "\n")


def write_10x_mtx(folder: Path, adata: AnnData) -> Path:
    """Write a Cell Ranger >= 3 mtx folder: genes x cells MatrixMarket + features + barcodes, gzipped."""
    folder.mkdir()
    scipy.io.mmwrite(folder / "matrix.mtx", sp.coo_matrix(adata.X.T.astype(np.int64)), field="integer")
    with open(folder / "matrix.mtx", "rb") as raw, gzip.open(folder / "matrix.mtx.gz", "wb") as packed:
        packed.write(raw.read())
    (folder / "matrix.mtx").unlink()
    ids = [f"ENSG{j:011d}" for j in range(adata.n_vars)]
    features = [f"{i}\t{n}\tGene Expression" for i, n in zip(ids, adata.var_names, strict=True)]
    _write_gz(folder / "features.tsv.gz", features)
    _write_gz(folder / "barcodes.tsv.gz", list(adata.obs_names))
    return folder


def write_10x_h5(path: Path, adata: AnnData) -> Path:
    """Write a minimal Cell Ranger >= 3 HDF5 matrix: CSC genes x cells (= CSR cells x genes) + features."""
    csr = sp.csr_matrix(adata.X)
    with h5py.File(path, "w") as handle:
        matrix = handle.create_group("matrix")
        matrix.create_dataset("data", data=csr.data.astype(np.int32))
        matrix.create_dataset("indices", data=csr.indices.astype(np.int64))
        matrix.create_dataset("indptr", data=csr.indptr.astype(np.int64))
        matrix.create_dataset("shape", data=np.array([adata.n_vars, adata.n_obs], dtype=np.int32))
        matrix.create_dataset("barcodes", data=np.array(adata.obs_names, dtype="S"))
        features = matrix.create_group("features")
        features.create_dataset("id", data=np.array([f"ENSG{j:011d}" for j in range(adata.n_vars)], dtype="S"))
        features.create_dataset("name", data=np.array(adata.var_names, dtype="S"))
        features.create_dataset("feature_type", data=np.array(["Gene Expression"] * adata.n_vars, dtype="S"))
        features.create_dataset("genome", data=np.array(["GRCh38"] * adata.n_vars, dtype="S"))
    return path


def test_h5ad_round_trip(tmp_path, counts):
    counts.write_h5ad(tmp_path / "cells.h5ad")
    read = ds.read(tmp_path / "cells.h5ad")
    _same(read, counts)
    assert list(read.obs["cell_type"]) == list(counts.obs["cell_type"])
    assert read.uns["source"] == str(tmp_path / "cells.h5ad")


def test_h5ad_dense_float64_becomes_csr_float32(tmp_path, counts):
    dense = AnnData(X=counts.X.toarray().astype(np.float64), obs=counts.obs, var=counts.var)
    dense.write_h5ad(tmp_path / "dense.h5ad")
    _same(ds.read(str(tmp_path / "dense.h5ad")), counts)


def test_zarr_round_trip(tmp_path, counts):
    counts.write_zarr(tmp_path / "cells.zarr")
    _same(ds.read(tmp_path / "cells.zarr"), counts)


def test_10x_mtx_folder_round_trip(tmp_path, counts):
    folder = write_10x_mtx(tmp_path / "filtered_feature_bc_matrix", counts)
    read = ds.read(folder)
    _same(read, counts)
    assert read.var["gene_ids"].iloc[0] == "ENSG00000000000"
    _same(ds.read(folder / "matrix.mtx.gz"), counts)


def test_10x_h5_round_trip(tmp_path, counts):
    read = ds.read(write_10x_h5(tmp_path / "filtered_feature_bc_matrix.h5", counts))
    _same(read, counts)
    assert ds.check_counts(read).in_x


def test_csv_round_trip(tmp_path, counts):
    frame = pd.DataFrame(counts.X.toarray().astype(int), index=counts.obs_names, columns=counts.var_names)
    frame.to_csv(tmp_path / "cells.csv")
    _same(ds.read(tmp_path / "cells.csv"), counts)


def test_csv_r_style_header_and_quotes(tmp_path, counts):
    """R's write.csv quotes names and leaves the corner out of the header."""
    matrix = counts.X.toarray().astype(int)
    lines = [",".join(f'"{g}"' for g in counts.var_names)]
    lines += [f'"{c}",' + ",".join(map(str, row)) for c, row in zip(counts.obs_names, matrix, strict=True)]
    (tmp_path / "r.csv").write_text("\n".join(lines) + "\n")
    _same(ds.read(tmp_path / "r.csv"), counts)


def test_tsv_gz_genes_by_cells_with_transpose(tmp_path, counts):
    frame = pd.DataFrame(counts.X.toarray().T, index=counts.var_names, columns=counts.obs_names)
    frame.to_csv(tmp_path / "genes_by_cells.tsv.gz", sep="\t")
    _same(ds.read(tmp_path / "genes_by_cells.tsv.gz", transpose=True), counts)
    assert ds.read(tmp_path / "genes_by_cells.tsv.gz", transpose=False).shape == (counts.n_vars, counts.n_obs)


def test_layer_moves_counts_into_x(tmp_path, counts):
    normalised = AnnData(X=sp.csr_matrix(np.log1p(counts.X.toarray())), obs=counts.obs, var=counts.var)
    normalised.layers["counts"] = counts.X.copy()
    normalised.write_h5ad(tmp_path / "norm.h5ad")
    assert not ds.check_counts(ds.read(tmp_path / "norm.h5ad")).in_x
    _same(ds.read(tmp_path / "norm.h5ad", layer="counts"), counts)


def test_raw_layer(tmp_path, cellxgene_like):
    cellxgene_like.write_h5ad(tmp_path / "cxg.h5ad")
    read = ds.read(tmp_path / "cxg.h5ad", layer="raw")
    np.testing.assert_array_equal(read.X.toarray(), cellxgene_like.uns["expected_counts"])
    assert read.raw is None


def test_duplicate_gene_names_made_unique_by_default(tmp_path, counts):
    counts.var_names = ["DUP", "DUP", *counts.var_names[2:]]
    counts.write_h5ad(tmp_path / "dup.h5ad")
    read = ds.read(tmp_path / "dup.h5ad")
    assert read.var_names.is_unique
    assert list(read.var_names[:2]) == ["DUP", "DUP-1"]
    assert list(read.var["gene_name"][:2]) == ["DUP", "DUP"]


@pytest.mark.parametrize("bad", ["nan", "NA", ""])
def test_csv_missing_values_fall_back_and_are_refused(tmp_path, counts, bad):
    frame = pd.DataFrame(counts.X.toarray().astype(int).astype(str), index=counts.obs_names, columns=counts.var_names)
    frame.iloc[4, 3] = bad
    frame.to_csv(tmp_path / "missing.csv")
    with pytest.raises(InputError, match=r"cell4.*GENE3"):
        ds.read(tmp_path / "missing.csv")


def test_txt_with_commas_is_sniffed(tmp_path, counts):
    frame = pd.DataFrame(counts.X.toarray().astype(int), index=counts.obs_names, columns=counts.var_names)
    frame.to_csv(tmp_path / "cells.txt")
    _same(ds.read(tmp_path / "cells.txt"), counts)
