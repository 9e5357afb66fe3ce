"""A table with genes as rows is refused with one line offering --transpose; the right way round passes."""

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from scconcepts import ds
from scconcepts._errors import InputError
from scconcepts.cli import main
from scconcepts.ds._orientation import genes_as_rows_problem


@pytest.fixture(scope="module")
def cells():
    return ds.pbmc68k()[:100].copy()


@pytest.fixture
def genes_by_cells_csv(tmp_path, cells):
    path = tmp_path / "genes_by_cells.csv"
    pd.DataFrame(cells.X.toarray().T, index=cells.var_names, columns=cells.obs_names).to_csv(path)
    return path


def test_genes_as_rows_table_is_refused_and_read_with_transpose(genes_by_cells_csv, cells):
    with pytest.raises(InputError) as error:
        ds.read(genes_by_cells_csv)
    message = str(error.value)
    assert "looks transposed" in message and "--transpose" in message and "\n" not in message
    assert "765 cells x 100 genes" in message and cells.obs_names[0] in message
    right = ds.read(genes_by_cells_csv, transpose=True)
    assert right.shape == (100, 765) and list(right.obs_names) == list(cells.obs_names)
    assert ds.read(genes_by_cells_csv, transpose=False).shape == (765, 100)  # the user insists: no check


def test_cli_offers_transpose_and_writes_nothing(genes_by_cells_csv, tmp_path, capsys):
    out = tmp_path / "embedded.h5ad"
    assert main(["embed", "--input", str(genes_by_cells_csv), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--transpose" in err[0]
    assert not out.exists()


def test_numbered_cell_ids_as_genes_are_caught():
    adata = ad.AnnData(np.ones((50, 30), dtype=np.float32))
    adata.obs_names = [f"GENE{i}" for i in range(50)]
    adata.var_names = [f"cell_{i}" for i in range(30)]
    assert "cell_0" in genes_as_rows_problem(adata)


@pytest.mark.parametrize("name", ["pbmc68k", "pbmc_sorted"])
def test_real_data_the_right_way_round_passes(name):
    adata = ds.load_dataset(name)
    assert genes_as_rows_problem(adata) is None
    assert genes_as_rows_problem(adata.T) is not None  # and the same data transposed is caught


def test_synthetic_names_pass():
    adata = ad.AnnData(np.ones((20, 10), dtype=np.float32))
    adata.obs_names = [f"cell_{i}" for i in range(20)]
    adata.var_names = [f"G{i}" for i in range(10)]
    assert genes_as_rows_problem(adata) is None
