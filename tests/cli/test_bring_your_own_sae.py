"""`run --sae DIR` with checkpoints written by SAELens and sparsify, and `export` back to both libraries."""

import json

import anndata as ad
import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient

from scconcepts.app import create_app
from scconcepts.cli import main
from scconcepts.models import TorchEncoder
from scconcepts.sae import read_checkpoint

sae_lens = pytest.importorskip("sae_lens")
sparsify = pytest.importorskip("sparsify")

from sae_lens import SAE, TopKSAE, TopKSAEConfig  # noqa: E402
from sae_lens.saes.sae import SAEMetadata  # noqa: E402
from sparsify import SparseCoder, SparseCoderConfig  # noqa: E402

DIM, N_LATENTS, K = 8, 12, 3


def _saelens(folder, *, d_in=DIM, hook="embedding", seed=0):
    torch.manual_seed(seed)
    sae = TopKSAE(TopKSAEConfig(d_in=d_in, d_sae=N_LATENTS, k=K, metadata=SAEMetadata(hook_name=hook)))
    with torch.no_grad():
        sae.b_enc.normal_(0, 0.1)
    sae.save_model(folder)


def _sparsify(folder, seed=1):
    torch.manual_seed(seed)
    sae = SparseCoder(DIM, SparseCoderConfig(num_latents=N_LATENTS, k=K))
    with torch.no_grad():
        sae.encoder.bias.normal_(0, 0.1)
    sae.save_to_disk(folder)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, pbmc_counts):
    """200 PBMC cells (real gene symbols: enrichment runs), a small torch encoder, one SAE of each library."""
    root = tmp_path_factory.mktemp("byo")
    pbmc_counts[:200].copy().write_h5ad(root / "cells.h5ad")
    torch.manual_seed(0)
    genes = list(pbmc_counts.var_names)
    module = torch.nn.Sequential(torch.nn.Linear(len(genes), 16), torch.nn.Tanh(), torch.nn.Linear(16, DIM))
    TorchEncoder(module, genes, name="mlp").save(root / "model")
    _saelens(root / "saelens")
    _sparsify(root / "sparsify")
    return root


def _run(inputs, sae, out, *extra):
    return main(["run", "--input", str(inputs / "cells.h5ad"), "--model", "torch", "--checkpoint",
                 str(inputs / "model"), "--sae", str(sae), "--out", str(out), *extra])  # fmt: skip


def _library_activations(folder, x):
    if (folder / "sae_weights.safetensors").is_file():
        return SAE.load_from_disk(folder).encode(x)
    out = SparseCoder.load_from_disk(folder).encode(x)
    return torch.zeros(len(x), N_LATENTS).scatter(1, out.top_indices, out.top_acts)


@pytest.fixture(scope="module")
def runs(inputs):
    """One run per library's checkpoint (attribution, enrichment, explorer data, report)."""
    folders = {}
    for name in ("saelens", "sparsify"):
        folders[name] = inputs / f"run_{name}"
        assert _run(inputs, inputs / name, folders[name]) == 0
    return folders


@pytest.mark.slow
@pytest.mark.parametrize("library", ["saelens", "sparsify"])
def test_run_with_a_library_checkpoint_reaches_attribution_enrichment_and_explorer(inputs, runs, library, capsys):
    out = runs[library]
    for name in ("attribution.csv", "enrichment.csv", "concepts.csv", "report.html", "metrics.json", "sae"):
        assert (out / name).exists(), name
    adata = ad.read_h5ad(out / "results.h5ad")
    x = torch.as_tensor(adata.obsm["X_mlp"])
    with torch.no_grad():
        expected = _library_activations(inputs / library, x).numpy()
    assert adata.obsm["X_concepts"].shape == (200, N_LATENTS)
    assert np.abs(adata.obsm["X_concepts"].toarray() - expected).max() <= 1e-6  # the library's own activations
    params = adata.uns["concepts"]["params"]
    assert params["regime"] == "external" and params["source_format"] == library
    assert np.abs(adata.varm["concepts_attribution"]).max() > 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_concepts"] == N_LATENTS and metrics["embedding_dim"] == DIM and metrics["l0"] <= K
    assert "skipped" not in metrics["enrichment"]
    assert main(["info", str(out)]) == 0
    assert f"sae: {inputs / library} ({library} topk)" in capsys.readouterr().out
    saved = read_checkpoint(out)  # the run keeps the SAE in our format, naming its layer
    assert saved.format == "scconcepts" and saved.hook == "embedding"
    client = TestClient(create_app(out))
    concepts = client.get("/api/concepts").json()
    alive = int(np.flatnonzero(expected.any(0))[0])
    detail = client.get(f"/api/concepts/{alive}")
    assert len(concepts) > 0 and detail.status_code == 200 and detail.json()


@pytest.mark.slow
@pytest.mark.parametrize("library", ["saelens", "sparsify"])
def test_export_round_trips_through_the_library(inputs, runs, library, tmp_path, capsys):
    run = runs["saelens"]
    out = tmp_path / f"exported_{library}"
    assert main(["export", str(run), "--format", library, "--out", str(out)]) == 0
    adata = ad.read_h5ad(run / "results.h5ad")
    with torch.no_grad():
        got = _library_activations(out, torch.as_tensor(adata.obsm["X_mlp"])).numpy()
    assert np.abs(got - adata.obsm["X_concepts"].toarray()).max() <= 1e-6
    capsys.readouterr()
    assert main(["export", str(run), "--format", library, "--out", str(out)]) == 2  # never overwrites
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "already exists" in err[0]


@pytest.mark.parametrize(
    ("make", "extra", "message"),
    [
        (lambda folder: _saelens(folder, d_in=5), [], "reads 5 dimensions but the mlp embedding"),
        (lambda folder: _saelens(folder, hook="blocks.0.hook_resid_post"), [], "(layer_1) but the cells are embedded"),
        (lambda folder: _saelens(folder, hook="blocks.0.hook_resid_post"), ["--layer", "layer_3"], "(layer_1)"),
        (lambda folder: folder.mkdir(), [], "is not an SAE checkpoint"),
    ],
)
def test_sae_that_does_not_fit_one_line_exit_2(inputs, tmp_path, capsys, make, extra, message):
    make(tmp_path / "sae")
    capsys.readouterr()
    assert _run(inputs, tmp_path / "sae", tmp_path / "out", *extra) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not (tmp_path / "out").exists()
