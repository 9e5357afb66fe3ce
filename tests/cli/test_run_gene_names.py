"""Gene names that gene sets cannot match are found before training; they never cost a finished run."""

import json
import logging

import numpy as np
import pytest

from scconcepts.cli import main
from scconcepts.cli._run import add_enrichment


def placeholder_cells(pbmc_counts, n_cells=300):
    adata = pbmc_counts[:n_cells].copy()
    adata.var["hgnc"] = adata.var_names.astype(str)  # a column the automatic search does not try
    adata.var_names = [f"gene{i}" for i in range(adata.n_vars)]
    return adata


@pytest.mark.slow
def test_placeholder_gene_names_warn_before_training_and_the_run_completes_without_enrichment(
    pbmc_counts, write_h5ad, tmp_path, caplog
):
    path = write_h5ad(placeholder_cells(pbmc_counts))
    out = tmp_path / "results"
    with caplog.at_level(logging.INFO):
        code = main(["run", "--input", str(path), "--max-epochs", "3", "--regime", "sae", "--k", "4",
                     "--expansion", "2", "--epochs", "30", "--out", str(out)])  # fmt: skip
    assert code == 0
    messages = [r.getMessage() for r in caplog.records]
    warned = next(i for i, m in enumerate(messages) if "0% of the data's genes" in m and "--gene-symbols" in m)
    trained = next(i for i, m in enumerate(messages) if "training scVI" in m)
    assert warned < trained
    assert any("enrichment and labels will be skipped" in m for m in messages[:trained])
    metrics = json.loads((out / "metrics.json").read_text())
    assert "genes could not be matched" in metrics["enrichment"]["skipped"]
    assert (out / "attribution.csv").is_file() and (out / "report.html").is_file()
    assert not (out / "enrichment.csv").exists()
    assert main(["info", str(out)]) == 0


def test_a_missing_gene_symbols_column_is_refused_before_training(pbmc_counts, write_h5ad, tmp_path, capsys):
    path = write_h5ad(placeholder_cells(pbmc_counts, 50))
    out = tmp_path / "results"
    assert main(["run", "--input", str(path), "--gene-symbols", "nope", "--out", str(out)]) == 2
    assert "not in adata.var" in capsys.readouterr().err and not out.exists()


def test_enrichment_that_fails_after_training_keeps_the_results(pbmc_counts, tmp_path, caplog):
    adata = placeholder_cells(pbmc_counts, 50)
    adata.varm["concepts_attribution"] = np.random.default_rng(0).normal(size=(adata.n_vars, 3))
    with caplog.at_level(logging.WARNING):
        summary = add_enrichment(adata, tmp_path, key="concepts")
    assert "0% of the data's genes" in summary["skipped"]
    assert "results are kept without enrichment" in caplog.text and not (tmp_path / "enrichment.csv").exists()
    # with the symbols column the same call enriches
    summary = add_enrichment(adata, tmp_path, key="concepts", gene_symbols="hgnc")
    assert "skipped" not in summary and (tmp_path / "enrichment.csv").is_file()


def test_mouse_symbols_are_matched_without_a_flag_before_training(pbmc_counts, caplog):
    import argparse

    from scconcepts.cli._run import enrichment_plan

    human = pbmc_counts[:50].copy()
    mouse = human.copy()
    mouse.var_names = [name.capitalize() for name in human.var_names]  # CD79A -> Cd79a
    args = argparse.Namespace(no_attribution=False, no_enrichment=False, gene_symbols=None, species=None)
    with caplog.at_level(logging.INFO):
        assert enrichment_plan(human, args)["species"] == "human"
        assert "look like mouse" not in caplog.text
        assert enrichment_plan(mouse, args)["species"] == "mouse"
    assert sum("look like mouse" in r.getMessage() for r in caplog.records) == 1
    args.species = "human"  # the override: mouse symbols against human sets are refused, training goes on
    assert enrichment_plan(mouse, args) is None
