"""``tl.embed(..., layer=...)``: every encoder returns the representation asked for, keeps it when saved,
and refuses names it does not have (with a hint when the name is one of the data's layers)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import scconcepts
from scconcepts import tl
from scconcepts._errors import InputError
from scconcepts.cli import main
from scconcepts.models import load_encoder
from scconcepts.models._registry import build_encoder
from scconcepts.models._scvi_train import build_scvi

from ._checkpoints import make_tiny_geneformer, make_tiny_scgpt


@pytest.fixture(scope="module")
def pbmc():
    return scconcepts.ds.pbmc68k()[:200].copy()


@pytest.fixture(scope="module")
def scvi_hidden(pbmc):
    return build_scvi(pbmc, max_epochs=2, early_stopping=False, n_layers=2, n_hidden=32, layer="hidden")


def test_scvi_hidden_layers_are_the_encoder_activations(pbmc, scvi_hidden):
    encoder = scvi_hidden
    assert encoder.layers() == ["latent", "hidden", "hidden_1", "hidden_2"]
    x = torch.as_tensor(encoder.expression(pbmc)[:40].toarray())
    fc = encoder.model.module.z_encoder.encoder
    with torch.no_grad():
        last = fc(torch.log1p(x))  # scvi-tools' FCLayers: output of its last hidden layer
        first = torch.nn.Sequential(*[m for m in fc.fc_layers[0] if m is not None])(torch.log1p(x))
        latent = encoder.model.module.z_encoder.mean_encoder(last)
        torch.testing.assert_close(encoder.encode(x), last)
        assert encoder.encode(x).shape == (40, 32) and (encoder.encode(x) >= 0).all()  # after the ReLU
        encoder.select_layer("hidden_1")
        torch.testing.assert_close(encoder.encode(x), first)
        # the attribution shortcut follows the chosen layer
        split = encoder.linear_first_layer()
        torch.testing.assert_close(split.rest(split.pre_activation(x, None), None), first)
        encoder.select_layer("latent")
        torch.testing.assert_close(encoder.encode(x), latent)
    encoder.select_layer("hidden")


def test_embed_stores_the_layer_under_its_own_key_and_saving_keeps_it(pbmc, scvi_hidden, tmp_path):
    adata = pbmc.copy()
    encoder = tl.embed(adata, model=scvi_hidden)
    assert encoder.obsm_key == "X_scvi_hidden" and adata.obsm["X_scvi_hidden"].shape == (adata.n_obs, 32)
    encoder.save(tmp_path / "model")
    loaded = load_encoder(tmp_path / "model")
    assert loaded.layer == "hidden"
    np.testing.assert_allclose(loaded.embed(adata), adata.obsm["X_scvi_hidden"], atol=1e-5)
    tl.embed(adata, model=loaded, layer="latent")
    assert adata.obsm["X_scvi"].shape == (adata.n_obs, 10)
    np.testing.assert_allclose(adata.obsm["X_scvi"], scvi_hidden.model.get_latent_representation(), atol=1e-5)


def test_unknown_layers_are_refused_before_training(pbmc):
    adata = pbmc.copy()
    adata.layers["counts"] = adata.X.copy()
    with pytest.raises(InputError, match=r"no layer 'counts'.*input_layer="):
        tl.embed(adata, model="scvi", layer="counts", max_epochs=1)
    with pytest.raises(InputError, match=r"hidden_1 \.\.\. hidden_2"):
        build_scvi(adata, layer="hidden_3", n_layers=2, max_epochs=1)
    with pytest.raises(InputError, match="no layer 'nope'"):
        tl.embed(adata, model="scvi", input_layer="nope")


def test_scgpt_layers_are_the_pooled_states_of_each_transformer_layer(pbmc, tmp_path):
    folder = make_tiny_scgpt(tmp_path / "scgpt", list(pbmc.var_names), n_layers=3)
    encoder = build_encoder("scgpt", pbmc, checkpoint=folder, layer="layer_2")
    assert encoder.layers() == ["layer_1", "layer_2", "layer_3"] and encoder.default_layer == "layer_3"
    assert encoder.obsm_key == "X_scgpt_layer_2"
    x = torch.as_tensor(encoder.expression(pbmc)[:12].toarray())
    tokens = encoder.tokenize(x, encoder.context(pbmc[:12]))
    with torch.no_grad():
        states = encoder.model(tokens.genes, tokens.values, tokens.padding, n_layers=2)
        expected = torch.nn.functional.normalize(states[:, 0, :], dim=1)
        torch.testing.assert_close(encoder.encode(x, torch.as_tensor(encoder.context(pbmc[:12]))), expected)
    second = encoder.embed(pbmc[:12])
    encoder.select_layer(None)
    assert encoder.layer == "layer_3" and not np.allclose(encoder.embed(pbmc[:12]), second, atol=1e-3)
    encoder.select_layer("layer_2")
    encoder.save(tmp_path / "model")
    np.testing.assert_allclose(load_encoder(tmp_path / "model").embed(pbmc[:12]), second, atol=1e-6)
    with pytest.raises(InputError, match="layer_1, layer_2, layer_3"):
        encoder.select_layer("layer_4")


def test_geneformer_layers_are_the_hidden_states_geneformer_reads(pbmc, tmp_path):
    from transformers import BertModel

    folder = make_tiny_geneformer(tmp_path / "gf", list(pbmc.var_names), n_layers=3)
    encoder = build_encoder("geneformer", pbmc, checkpoint=folder)
    assert encoder.layers() == ["layer_0", "layer_1", "layer_2", "layer_3"] and encoder.layer == "layer_2"
    x = torch.as_tensor(encoder.expression(pbmc)[:6].toarray())
    tokens = encoder.tokenize(x)
    reference = BertModel.from_pretrained(folder, add_pooling_layer=False).eval()
    with torch.no_grad():
        hidden = reference(input_ids=tokens.ids, attention_mask=tokens.attention, output_hidden_states=True)
        weights = tokens.gene_positions.float().unsqueeze(-1)
        for number in (0, 1, 3, 2):
            encoder.select_layer(f"layer_{number}")
            expected = (hidden.hidden_states[number] * weights).sum(1) / weights.sum(1)
            torch.testing.assert_close(encoder.encode(x), expected, atol=1e-5, rtol=1e-4)
    encoder.select_layer("layer_1")
    encoder.save(tmp_path / "model")
    loaded = load_encoder(tmp_path / "model")
    assert loaded.layer == "layer_1" and loaded.default_layer == "layer_2"
    np.testing.assert_allclose(loaded.embed(pbmc[:6]), encoder.embed(pbmc[:6]), atol=1e-5)


def test_cli_layer_names_the_representation_and_input_layer_the_data(tmp_path, capsys):
    out = tmp_path / "embedded.h5ad"
    args = ["embed", "--dataset", "pbmc68k", "--max-epochs", "1", "--out", str(out)]
    assert main([*args, "--layer", "counts"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "choose one of latent, hidden" in err and not out.exists()
    assert main([*args, "--input-layer", "counts"]) == 2
    assert "no layer 'counts'" in capsys.readouterr().err and not out.exists()
    assert main([*args, "--layer", "hidden"]) == 0
    written = scconcepts.ds.read(out)
    assert written.obsm["X_scvi_hidden"].shape == (written.n_obs, 128)
