"""The whole pipeline (embed -> SAE -> attribution) through tiny scGPT and Geneformer checkpoints."""

import json

import numpy as np
import pytest

import scconcepts
from scconcepts.cli import main
from scconcepts.models import load_encoder

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


def test_run_tokens_learns_concepts_of_gene_tokens(checkpoint, tmp_path):
    """run --tokens --layer: token states in tokens/, per-cell concepts in obsm, per-gene ranking in varm and csv."""
    import anndata as ad

    from scconcepts.models._token_store import open_store

    model, folder = checkpoint
    out = tmp_path / "results"
    args = ["run", "--dataset", "pbmc68k", "--model", model, "--checkpoint", str(folder), "--tokens", "--layer",
            "layer_1", "--max-tokens-per-cell", "40", "--regime", "sae", "--seeds", "1", "--k", "4", "--epochs", "3",
            "--no-enrichment", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    store = open_store(out / "tokens")
    assert store.info["layer"] == "layer_1" and store.tokens_per_cell().max() == 40
    adata = ad.read_h5ad(out / "results.h5ad")
    assert adata.uns["concepts"]["params"]["tokens"] and adata.obsm["X_concepts"].shape[0] == adata.n_obs
    per_gene = adata.varm["concepts_token_genes"]
    seen = np.isfinite(per_gene).any(axis=1)
    assert seen.sum() > 100 and not seen[~adata.var_names.isin(load_encoder(out / "model").genes)].any()
    assert (out / "token_genes.csv").is_file()


def test_run_tokens_refuses_scvi(tmp_path, capsys):
    args = ["run", "--dataset", "pbmc68k", "--model", "scvi", "--tokens", "--out", str(tmp_path / "out")]
    assert main(args) == 2
    assert "--tokens" in capsys.readouterr().err and not (tmp_path / "out").exists()
