"""``scconcepts attribute DIR`` on a results folder holding a real scVI encoder and a Top-K SAE."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import scipy.sparse as sp
import torch

from scconcepts.cli import main
from scconcepts.results import new_results_folder, read_results

from .conftest import planted_counts


@pytest.fixture(scope="module")
def results_folder(tmp_path_factory):
    scvi = pytest.importorskip("scvi")
    from scconcepts.models._scvi import ScviEncoder
    from scconcepts.sae import TopKSAE, save_sae

    adata = planted_counts()
    scvi.settings.seed = 0
    data = adata.copy()
    scvi.model.SCVI.setup_anndata(data)
    model = scvi.model.SCVI(data, n_latent=4, n_hidden=32)
    model.train(max_epochs=3, accelerator="cpu", enable_progress_bar=False, logger=False, enable_checkpointing=False)
    encoder = ScviEncoder(model)
    torch.manual_seed(0)
    sae = TopKSAE(4, 12, 2).eval()
    emb = torch.as_tensor(encoder.embed(adata))
    with torch.no_grad():
        sae.mean.copy_(emb.mean(0))
        adata.obsm["X_concepts"] = sp.csr_matrix(sae.encode(emb).numpy())
    adata.obsm["X_scvi"] = emb.numpy()
    out = tmp_path_factory.mktemp("runs") / "run"
    with new_results_folder(out, info={"command": "test"}) as tmp:
        encoder.save(tmp / "model")
        save_sae(sae, tmp / "sae")
        adata.write_h5ad(tmp / "results.h5ad")
    return out


def test_attribute_updates_the_folder(results_folder):
    assert main(["attribute", str(results_folder), "--n-cells", "5"]) == 0
    table = pd.read_csv(results_folder / "attribution.csv")
    assert list(table.columns[:6]) == ["concept", "gene", "score", "pval", "padj", "n_cells"]
    assert table["n_cells"].between(1, 5).all()
    manifest = json.loads((results_folder / "scconcepts.json").read_text())
    assert "attribution.csv" in manifest["files"]
    adata = read_results(results_folder)
    score = adata.varm["concepts_attribution"]
    assert score.shape == (adata.n_vars, 12) and abs(score).max() > 0
    assert adata.uns["concepts_attribution"]["params"]["engine"] == "shortcut"
    top = table.sort_values("score", ascending=False).iloc[0]
    assert score[adata.var_names.get_loc(top["gene"]), top["concept"]] == pytest.approx(top["score"], rel=1e-6)


def test_attribute_refuses_a_folder_without_sae(results_folder, tmp_path, capsys):
    with new_results_folder(tmp_path / "bare", info={"command": "test"}) as tmp:
        read_results(results_folder).write_h5ad(tmp / "results.h5ad")
    assert main(["attribute", str(tmp_path / "bare")]) == 2
    assert "no model/ folder" in capsys.readouterr().err


def test_attribute_on_the_cpu_device(results_folder):
    assert main(["attribute", str(results_folder), "--n-cells", "3", "--device", "cpu"]) == 0
    assert pd.read_csv(results_folder / "attribution.csv")["n_cells"].between(1, 3).all()
