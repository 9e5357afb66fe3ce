import logging

import numpy as np
import pytest
from anndata import AnnData

import scconcepts
from scconcepts._errors import InputError
from scconcepts.cli import main


def _run(*args):
    return main(["run", "--max-epochs", "2", *args])


def _assert_one_line_error(capsys, fragment):
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert fragment in err


def test_missing_input_file(tmp_path, capsys):
    out = tmp_path / "out"
    assert _run("--input", str(tmp_path / "missing.h5ad"), "--out", str(out)) == 2
    _assert_one_line_error(capsys, "missing.h5ad")
    assert not out.exists()
    assert not list(tmp_path.glob(".out.partial-*"))


def test_text_file_named_h5ad(tmp_path, capsys):
    fake = tmp_path / "cells.h5ad"
    fake.write_text("gene,cell\nCD3E,1\n")
    assert _run("--input", str(fake), "--out", str(tmp_path / "out")) == 2
    _assert_one_line_error(capsys, "cells.h5ad")
    assert not (tmp_path / "out").exists()


def test_log_normalised_data_refused_by_scvi(lognormalised, write_h5ad, tmp_path, capsys, caplog):
    with caplog.at_level(logging.DEBUG):
        assert _run("--input", str(write_h5ad(lognormalised)), "--model", "scvi", "--out", str(tmp_path / "out")) == 2
    _assert_one_line_error(capsys, "scVI needs raw integer counts but X does not hold them")
    assert not (tmp_path / "out").exists()
    # refused right after reading: before the gene sets are loaded and the gene names checked
    assert {r.name.rsplit(".", 1)[0] for r in caplog.records if r.levelno >= logging.INFO} == {"scconcepts.ds"}
    assert "GO BP" not in caplog.text and "gene names" not in caplog.text


def test_scvi_on_a_matrix_left_on_disk_is_refused_before_the_gene_sets(pbmc_counts, write_h5ad, tmp_path, capsys,
                                                                      caplog):  # fmt: skip
    with caplog.at_level(logging.INFO):
        assert _run("--input", str(write_h5ad(pbmc_counts[:100].copy())), "--backed", "--out", str(tmp_path / "o")) == 2
    _assert_one_line_error(capsys, "left on disk")
    assert "GO BP" not in caplog.text and "gene names" not in caplog.text


def test_log_normalised_x_with_counts_in_a_layer_names_the_layer(lognormalised, pbmc_counts, write_h5ad, tmp_path,
                                                                  capsys):  # fmt: skip
    lognormalised.layers["counts"] = pbmc_counts[:100].X.copy()
    assert _run("--input", str(write_h5ad(lognormalised)), "--out", str(tmp_path / "out")) == 2
    _assert_one_line_error(capsys, "layers['counts'] holds raw counts: pass it (--input-layer counts")


def test_k_larger_than_the_dictionary(tmp_path, capsys):
    assert (
        _run(
            "--dataset", "pbmc68k", "--regime", "sae", "--k", "100", "--expansion", "2", "--out", str(tmp_path / "out")
        )
        == 2
    )
    _assert_one_line_error(capsys, "--k 100")


def test_zero_cells(pbmc_counts, write_h5ad, tmp_path, capsys):
    assert _run("--input", str(write_h5ad(pbmc_counts[:0].copy())), "--out", str(tmp_path / "out")) == 2
    _assert_one_line_error(capsys, "cells")
    assert not (tmp_path / "out").exists()


def test_unknown_dataset(tmp_path, capsys):
    assert _run("--dataset", "nope", "--out", str(tmp_path / "out")) == 2
    _assert_one_line_error(capsys, "nope")


def test_out_folder_not_written_by_scconcepts_is_left_alone(tmp_path, capsys):
    out = tmp_path / "precious"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work")
    assert _run("--dataset", "pbmc68k", "--out", str(out)) == 2
    _assert_one_line_error(capsys, "not written by scconcepts")
    assert [p.name for p in out.iterdir()] == ["thesis.tex"]


def test_nan_in_the_embedding_is_refused():
    adata = AnnData(np.ones((50, 5), dtype=np.float32))
    adata.obsm["X_custom"] = np.random.default_rng(0).normal(size=(50, 8)).astype(np.float32)
    adata.obsm["X_custom"][3, 2] = np.nan
    with pytest.raises(InputError, match="NaN"):
        scconcepts.tl.train_sae(adata, use_rep="X_custom", regime="sae", k=2, expansion=2)


def test_missing_embedding_key_names_the_fix():
    adata = AnnData(np.ones((50, 5), dtype=np.float32))
    with pytest.raises(InputError, match=r"tl\.embed"):
        scconcepts.tl.train_sae(adata, use_rep="X_scvi", regime="sae", k=2, expansion=2)


def test_all_zero_matrix_is_refused_before_any_training(tmp_path, write_h5ad, capsys):
    import scipy.sparse as sp

    zeros = AnnData(sp.csr_matrix((60, 40), dtype=np.float32))
    zeros.var_names = [f"G{i}" for i in range(40)]
    out = tmp_path / "out"
    assert _run("--input", str(write_h5ad(zeros)), "--out", str(out)) == 2
    _assert_one_line_error(capsys, "only zeros")
    assert not out.exists()


def test_unknown_labels_key_is_refused_with_the_columns_that_exist(tmp_path, capsys):
    out = tmp_path / "out"
    assert _run("--dataset", "pbmc68k", "--labels-key", "nope", "--out", str(out)) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "'nope'" in err and "'cell_type'" in err
    assert not out.exists()


def test_unknown_labels_key_in_evaluate(tmp_path, capsys):
    from benchmarks._synthetic import make_synthetic_results

    folder = make_synthetic_results(tmp_path / "results", n_cells=100, n_genes=50, n_concepts=8, n_dims=4, k=2)
    assert main(["evaluate", str(folder), "--labels-key", "nope", "--no-sweep", "--no-grounding"]) == 2
    _assert_one_line_error(capsys, "'cell_type'")
