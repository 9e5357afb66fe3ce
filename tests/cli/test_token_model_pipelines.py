"""The whole pipeline (embed -> SAE -> attribution) through tiny scGPT and Geneformer checkpoints."""

import json

import anndata as ad
import numpy as np
import pytest

import scconcepts
from scconcepts.cli import main
from scconcepts.models import load_encoder

from .._token_run import MAX_TOKENS_PER_CELL
from ..models._checkpoints import make_tiny_geneformer, make_tiny_scgpt


@pytest.fixture(scope="module")
def pbmc():
    return scconcepts.ds.pbmc68k()


@pytest.fixture(scope="module", params=["scgpt", "geneformer"])
def checkpoint(request, tmp_path_factory, pbmc):
    folder = tmp_path_factory.mktemp(request.param)
    genes = list(pbmc.var_names[:600])  # most, not all, of the data's genes are in the vocabulary
    make = make_tiny_scgpt if request.param == "scgpt" else make_tiny_geneformer
    return request.param, make(folder / "ckpt", genes)


def test_embed_sae_and_attribution_through_token_models(pbmc, checkpoint):
    model, folder = checkpoint
    adata = pbmc.copy()
    encoder = scconcepts.tl.embed(adata, model=model, checkpoint=folder)
    # one SAE with pinned settings: the pipeline is under test, not the default regime (test R^2 0.78-0.83 over
    # seeds 0-2 for both tiny models; random starts 0.70-0.76)
    result = scconcepts.tl.train_sae(
        adata, use_rep=f"X_{model}", regime="sae", k=4, expansion=2, epochs=30, n_seeds=1, atom_init="kmeans"
    )
    assert adata.uns["concepts"]["metrics"]["r2"] > 0.5

    alive = np.flatnonzero(adata.obsm["X_concepts"].getnnz(axis=0) >= 3)[:3]
    assert len(alive) == 3
    scconcepts.tl.attribute(adata, encoder=encoder, sae=result.sae, concepts=alive, n_cells=3)
    scores = adata.varm["concepts_attribution"]
    assert np.abs(scores[:, alive]).max() > 0
    outside_vocabulary = ~adata.var_names.isin(encoder.genes)
    assert outside_vocabulary.sum() > 0 and np.all(scores[outside_vocabulary] == 0)


def test_run_command_with_a_token_model_checkpoint(checkpoint, tmp_path):
    model, folder = checkpoint
    out = tmp_path / "results"
    args = [
        "run",
        "--dataset",
        "pbmc68k",
        "--model",
        model,
        "--checkpoint",
        str(folder),
        "--regime",
        "sae",
        "--k",
        "4",
        "--expansion",
        "2",
        "--epochs",
        "5",
        "--no-attribution",
        "--out",
        str(out),
    ]
    assert main(args) == 0
    assert json.loads((out / "metrics.json").read_text())["model"] == model
    assert load_encoder(out / "model").name == model


def test_missing_checkpoint_is_a_one_line_error(tmp_path, capsys):
    args = [
        "run",
        "--dataset",
        "pbmc68k",
        "--model",
        "scgpt",
        "--checkpoint",
        str(tmp_path / "nope"),
        "--out",
        str(tmp_path / "out"),
    ]
    assert main(args) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def few_cells(pbmc, tmp_path_factory):
    """80 cells and 340 genes (300 in the checkpoints' vocabulary, 40 not), in a file: token runs stay fast."""
    genes = np.r_[np.arange(300), np.arange(pbmc.n_vars - 40, pbmc.n_vars)]
    path = tmp_path_factory.mktemp("few") / "cells.h5ad"
    pbmc[:80, genes].copy().write_h5ad(path)
    return path


def test_run_tokens_learns_concepts_of_gene_tokens(checkpoint, few_cells, tmp_path):
    """run --tokens --layer: token states in tokens/, per-cell concepts in obsm, both gene views side by side.

    Which gene tokens carry each concept (the per-gene token activation: varm, token_genes.csv, the ranking that
    enrichment reads) and which genes cause it (the counterfactual attribution: varm, attribution.csv, the
    faithfulness columns of concepts.csv).
    """
    import anndata as ad
    import pandas as pd

    from scconcepts.models._token_store import open_store

    model, folder = checkpoint
    out = tmp_path / "results"
    args = ["run", "--input", str(few_cells), "--model", model, "--checkpoint", str(folder), "--tokens", "--layer",
            "layer_1", "--max-tokens-per-cell", "40", "--regime", "sae", "--seeds", "1", "--k", "4", "--expansion", "1",
            "--epochs", "3", "--attribution-cells", "2", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    store = open_store(out / "tokens")
    assert store.info["layer"] == "layer_1" and store.tokens_per_cell().max() == 40
    adata = ad.read_h5ad(out / "results.h5ad")
    params = adata.uns["concepts"]["params"]
    assert params["tokens"] and params["token_seed"] == 0 and adata.obsm["X_concepts"].shape[0] == adata.n_obs
    per_gene = adata.varm["concepts_token_genes"]
    seen = np.isfinite(per_gene).any(axis=1)
    model_genes = adata.var_names.isin(load_encoder(out / "model").genes)
    assert seen.sum() > 100 and not seen[~model_genes].any()
    attribution = adata.varm["concepts_attribution"]
    assert np.isfinite(attribution).all() and np.abs(attribution[model_genes]).max() > 0
    assert not np.allclose(np.nan_to_num(per_gene), attribution)  # two views, not one copied into the other
    assert adata.uns["concepts_attribution"]["params"]["n_cells"] == 2

    table = pd.read_csv(out / "concepts.csv")
    assert {"fall_attributed", "fall_de", "faithful", "top_genes", "top_token_genes"} <= set(table.columns)
    assert table["fall_attributed"].notna().any()
    tokens = pd.read_csv(out / "token_genes.csv")
    assert list(tokens.columns) == ["concept", "gene", "token_activation"] and (tokens["token_activation"] > 0).all()
    assert (out / "attribution.csv").is_file()

    enrichment = adata.uns["concepts"]["enrichment_params"]
    assert enrichment["gene_ranking"] == "token" and enrichment["gene_ranking_key"] == "concepts_token_genes"
    assert enrichment["n_background"] == seen.sum()  # against the genes that had a token
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["enrichment"]["gene_ranking"] == "token" and "term_members" in metrics

    # `scconcepts attribute DIR` reloads the transformer and the token SAE and attributes the token concepts again
    assert main(["attribute", str(out), "--n-cells", "1", "--method", "mask"]) == 0
    again = ad.read_h5ad(out / "results.h5ad")
    assert again.uns["concepts_attribution"]["params"]["method"] == "mask"
    assert np.abs(again.varm["concepts_attribution_raw"][model_genes]).max() > 0


def test_run_tokens_refuses_scvi(tmp_path, capsys):
    args = ["run", "--dataset", "pbmc68k", "--model", "scvi", "--tokens", "--out", str(tmp_path / "out")]
    assert main(args) == 2
    assert "--tokens" in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_run_tokens_with_a_token_sae_brought_along_gives_the_runs_concepts(token_run, tmp_path):
    """A token run's SAE brought to `run --tokens --sae` on the same cells and layer gives the same concepts (1e-5)."""
    exported = token_run  # its k = 4 encodes by pursuit, which SAELens and sparsify do not have: our own format
    root = token_run.parent
    out = tmp_path / "out"
    args = ["run", "--input", str(root / "cells.h5ad"), "--model", "scgpt", "--checkpoint", str(root / "ckpt"),
            "--tokens", "--layer", "layer_1", "--max-tokens-per-cell", str(MAX_TOKENS_PER_CELL), "--sae",
            str(exported), "--no-enrichment", "--attribution-cells", "2", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    mine, brought = ad.read_h5ad(token_run / "results.h5ad"), ad.read_h5ad(out / "results.h5ad")
    params = brought.uns["concepts"]["params"]
    assert params["tokens"] and params["regime"] == "external" and params["source_format"] == "scconcepts"
    np.testing.assert_allclose(brought.obsm["X_concepts"].toarray(), mine.obsm["X_concepts"].toarray(), atol=1e-5)
    np.testing.assert_allclose(brought.varm["concepts_token_genes"], mine.varm["concepts_token_genes"], atol=1e-5)
    assert (out / "tokens" / "store.json").is_file() and (out / "attribution.csv").is_file()


def test_run_tokens_refuses_a_brought_token_sae_of_another_layer(token_run, tmp_path, capsys):
    exported = token_run
    root = token_run.parent
    args = ["run", "--input", str(root / "cells.h5ad"), "--model", "scgpt", "--checkpoint", str(root / "ckpt"),
            "--tokens", "--layer", "layer_2", "--sae", str(exported), "--out", str(tmp_path / "out")]  # fmt: skip
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "layer_1" in err[0] and "layer_2" in err[0] and not (tmp_path / "out").exists()


def test_run_tokens_defaults_are_the_token_ones(token_run, tmp_path):
    """Without regime options a token run learns one Top-K SAE (k 8, 8 x the width) for at least 3,000 steps."""
    import anndata as ad

    from scconcepts._regime import TOKEN_EXPANSION, TOKEN_K

    root, out = token_run.parent, tmp_path / "out"
    args = ["run", "--input", str(root / "cells.h5ad"), "--model", "scgpt", "--checkpoint", str(root / "ckpt"),
            "--tokens", "--layer", "layer_1", "--max-tokens-per-cell", "20", "--no-enrichment", "--no-attribution",
            "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    params = ad.read_h5ad(out / "results.h5ad").uns["concepts"]["params"]
    assert params["regime"] == "sae" and int(params["n_seeds"]) == 1 and int(params["k"]) == TOKEN_K
    assert int(params["n_concepts"]) <= TOKEN_EXPANSION * 32 and int(params["expansion"]) == TOKEN_EXPANSION
    assert int(params["batch_size"]) == 256 and int(params["epochs"]) == 100  # 4,800 tokens: the 100-epoch cap
