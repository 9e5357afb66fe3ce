"""``info`` and ``evaluate`` on a ``run --tokens`` folder: info says it is a token run; evaluate measures tokens."""

import json

import anndata as ad
import numpy as np
import pytest
from tests._token_run import MAX_TOKENS_PER_CELL, N_CELLS, copy_token_run

from scconcepts import tl
from scconcepts._errors import InputError
from scconcepts.cli import main
from scconcepts.cli._run_tokens import TOKENS_DIR
from scconcepts.evaluation._token_rows import token_rows
from scconcepts.models._token_store import open_store
from scconcepts.results._tokens import TOKEN_STORE_DIR, token_gene_cells, token_store_summary


def test_store_folder_is_the_one_run_writes():
    assert TOKEN_STORE_DIR == TOKENS_DIR


def test_info_says_token_run_with_layer_and_tokens(token_run, capsys):
    assert main(["info", str(token_run)]) == 0
    out = capsys.readouterr().out
    store = open_store(token_run / "tokens")
    median = int(np.median(store.tokens_per_cell()))
    assert "token run: concepts of scgpt's gene-token states at layer_1" in out
    assert f"tokens stored: {store.n_tokens} of {N_CELLS} cells" in out
    assert f"tokens per cell: median {median}, max_tokens_per_cell: {MAX_TOKENS_PER_CELL}" in out
    assert f"token store: {token_run.resolve() / 'tokens'}" in out or f"token store: {token_run / 'tokens'}" in out


def test_info_of_a_cell_run_says_nothing_of_tokens(tmp_path, capsys):
    from benchmarks._synthetic import make_synthetic_results

    folder = make_synthetic_results(tmp_path / "results", n_cells=200, n_concepts=8, with_sae=False)
    assert main(["info", str(folder)]) == 0
    assert "token" not in capsys.readouterr().out


def test_store_summary_and_gene_cells_match_the_store(token_run):
    store = open_store(token_run / "tokens")
    summary = token_store_summary(token_run)
    assert summary["n_tokens"] == store.n_tokens and summary["layer"] == "layer_1"
    assert summary["median_tokens_per_cell"] == float(np.median(store.tokens_per_cell()))
    genes = ["not-a-gene", store.gene_names[3], store.gene_names[0]]
    counts = token_gene_cells(token_run, genes)
    expected = [0, int((np.asarray(store.genes) == 3).sum()), int((np.asarray(store.genes) == 0).sum())]
    assert counts.tolist() == expected and counts[1:].sum() > 0


def test_gene_cells_of_a_folder_without_store_is_none(tmp_path):
    assert token_gene_cells(tmp_path, ["A"]) is None and token_store_summary(tmp_path) is None


def test_evaluate_fits_and_measures_every_method_on_the_runs_tokens(token_run, tmp_path, capsys):
    folder = copy_token_run(token_run, tmp_path / "run")
    assert main(["evaluate", str(folder), "--seeds", "2", "--no-sweep", "--epochs", "5"]) == 0
    result = json.loads((folder / "evaluation.json").read_text())
    params = result["params"]
    store = open_store(folder / "tokens")
    assert params["rows"].startswith("gene tokens (layer_1)") and params["use_rep"] == "tokens:layer_1"
    assert params["n_cells_train"] + params["n_cells_heldout"] == store.n_tokens  # every token (under 20,000)
    assert params["grounding_null"] == "none"  # not measured on tokens
    table = {row["method"]: row for row in result["table"]}
    assert {"sae", "neurons", "pca"} <= set(table)
    assert all(0.0 < table[m]["r2"] <= 1.0 for m in ("sae", "pca"))
    assert table["sae"]["pure_share_chance"] is not None  # token labels (their cells') permuted for the chance level
    assert "Token run: every method was fitted and measured on gene tokens" in (folder / "report.html").read_text()


def test_token_split_keeps_held_out_cells_tokens_out_of_training(token_run):
    adata = ad.read_h5ad(token_run / "results.h5ad")
    held_out = adata.obs_names.get_indexer(adata.uns["concepts"]["test_cells"].astype(str))
    sample = token_rows(open_store(token_run / "tokens"), held_out, seed=0, max_tokens=500)
    train, test = sample.rows
    assert len(train) + len(test) == 500 and np.isin(sample.cells[test], held_out).all()
    assert not np.isin(sample.cells[train], held_out).any()


def test_evaluate_refuses_cross_dataset_for_a_token_run(token_run, capsys):
    before = sorted(p.name for p in token_run.iterdir())
    assert main(["evaluate", str(token_run), "--seeds", "1", "--cross-dataset", "pbmc68k"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--cross-dataset" in err[0] and "token run" in err[0]
    assert sorted(p.name for p in token_run.iterdir()) == before


def test_evaluate_in_python_asks_for_the_store_of_token_concepts(token_run):
    adata = ad.read_h5ad(token_run / "results.h5ad")
    with pytest.raises(InputError, match="pass store="):
        tl.evaluate(adata, seeds=(0,), run_sweep=False, grounding=False)


@pytest.mark.parametrize("command", ["apply", "steer"])
def test_commands_of_the_cell_embedding_refuse_a_token_run_in_one_line(command, token_run, tmp_path, capsys):
    before = sorted(p.name for p in token_run.iterdir())
    args = (
        ["apply", str(token_run), "--input", str(token_run.parent / "cells.h5ad"), "--out", str(tmp_path / "out")]
        if command == "apply"
        else ["steer", str(token_run), "--concept", "0"]
    )
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "token runs" in err[0] and "gene-token states" in err[0]
    assert sorted(p.name for p in token_run.iterdir()) == before and not (tmp_path / "out").exists()
