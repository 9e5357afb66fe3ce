import json

import anndata as ad
import numpy as np
import pytest
import scipy.sparse as sp

from scconcepts.cli import main
from scconcepts.sae import encode_csr, load_sae


def test_run_on_pbmc68k_writes_a_complete_results_folder(tmp_path, capsys):
    out = tmp_path / "results"
    code = main(
        [
            "run",
            "--dataset",
            "pbmc68k",
            "--model",
            "scvi",
            "--max-epochs",
            "20",
            "--regime",
            "sae",
            "--k",
            "5",
            "--expansion",
            "4",
            "--epochs",
            "300",
            "--seeds",
            "1",  # one SAE: every latent is a concept (the default consensus keeps those that recur)
            "--out",
            str(out),
        ]
    )
    assert code == 0
    for name in (
        "scconcepts.json",
        "results.h5ad",
        "metrics.json",
        "concepts.csv",
        "attribution.csv",
        "report.html",
        "model",
        "sae",
    ):
        assert (out / name).exists(), name
    metrics = json.loads((out / "metrics.json").read_text())
    for name in (
        "r2",
        "l0",
        "dead_fraction",
        "n_concepts",
        "k",
        "embedding_dim",
        "accuracy_concepts",
        "accuracy_embedding",
    ):
        assert name in metrics, name
    assert metrics["n_concepts"] == 40 and metrics["k"] == 5 and metrics["embedding_dim"] == 10
    assert metrics["l0"] <= 5
    assert metrics["r2"] > 0.5  # a short scVI run still gives a usable embedding

    adata = ad.read_h5ad(out / "results.h5ad")
    assert sp.issparse(adata.obsm["X_concepts"]) and adata.obsm["X_concepts"].shape == (700, 40)
    assert adata.obsm["X_scvi"].shape == (700, 10) and adata.obsm["X_umap"].shape == (700, 2)
    table = adata.uns["concepts"]["table"]
    assert len(table) == 40 and {"frequency", "top_cell_type", "label"} <= set(table.columns)
    assert adata.varm["concepts_attribution"].shape == (adata.n_vars, 40)
    assert np.abs(adata.varm["concepts_attribution"]).max() > 0
    # the saved SAE reproduces the stored activations
    stored = encode_csr(load_sae(out / "sae"), adata.obsm["X_scvi"])
    assert abs(stored - adata.obsm["X_concepts"]).max() < 1e-5

    # the saved encoder re-encodes cells to the stored embedding
    from scconcepts.models import load_encoder

    encoder = load_encoder(out / "model")
    cells = ad.read_h5ad(out / "results.h5ad")
    np.testing.assert_allclose(encoder.embed(cells), adata.obsm["X_scvi"], atol=1e-4)

    # faithfulness: each concept's falls in concepts.csv, and the explorer's concept page returns them
    import pandas as pd
    from fastapi.testclient import TestClient

    from scconcepts.app import create_app

    csv = pd.read_csv(out / "concepts.csv", index_col=0)
    assert {"fall_attributed", "fall_de", "fall_random", "fall_random_sd", "faithful"} <= set(csv.columns)
    alive = np.flatnonzero(adata.obsm["X_concepts"].getnnz(axis=0) > 0)
    assert csv["fall_attributed"].iloc[alive].notna().all() and csv["faithful"].dtype == bool
    assert (csv["fall_random_sd"].iloc[alive] >= 0).all() and (csv["fall_attributed"].iloc[alive] <= 1 + 1e-6).all()
    doc = TestClient(create_app(out)).get(f"/api/concepts/{alive[0]}").json()["faithfulness"]
    assert doc["fall_attributed"] == pytest.approx(csv["fall_attributed"].iloc[alive[0]])
    assert doc["faithful"] == bool(csv["faithful"].iloc[alive[0]])

    assert main(["info", str(out)]) == 0
    assert "r2" in capsys.readouterr().out


@pytest.mark.slow
def test_run_defaults_report_programs_with_their_reproducibility(tmp_path):
    """The default run learns programs: two sides per independent component, sparse per cell, each measured."""
    out = tmp_path / "results"
    args = ["run", "--dataset", "pbmc68k", "--max-epochs", "20", "--no-attribution", "--out", str(out)]
    assert main(args) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    adata = ad.read_h5ad(out / "results.h5ad")
    info = adata.uns["concepts"]
    table, summary = info["table"], info["consensus"]
    assert summary["regime"] == "programs" and metrics["n_seeds"] == 5
    n_components = int(summary["n_components"])
    assert 1 <= n_components <= 10 and metrics["n_concepts"] == 2 * n_components == len(table)
    assert set(table["side"]) == {"+", "-"} and (table["component"].value_counts() == 2).all()
    assert metrics["r2"] >= 0.9  # the held-out cells, at the thresholds chosen for validation R^2 0.99
    activations = adata.obsm["X_concepts"]
    both_sides = activations[:, :n_components].multiply(activations[:, n_components:]).nnz
    assert both_sides == 0  # a cell is on one side of a component at most: at most half the concepts fire
    assert table["reproducibility"].between(0, 1).all() and 0 <= metrics["reproduced_share"] <= 1
    stored = encode_csr(load_sae(out / "sae"), adata.obsm["X_scvi"])
    assert abs(stored - activations).max() < 1e-5  # the saved dictionary is the one that encoded the cells


def test_rerun_needs_overwrite_and_keeps_the_users_files(tmp_path):
    out = tmp_path / "results"
    args = [
        "run",
        "--dataset",
        "pbmc68k",
        "--max-epochs",
        "5",
        "--regime",
        "sae",
        "--k",
        "2",
        "--expansion",
        "2",
        "--epochs",
        "5",
        "--no-attribution",
        "--out",
        str(out),
    ]
    assert main(args) == 0
    (out / "my_notes.txt").write_text("mine")
    assert main(args) == 2
    assert main([*args, "--overwrite"]) == 0
    assert (out / "my_notes.txt").read_text() == "mine"
    assert (out / "results.h5ad").exists()
