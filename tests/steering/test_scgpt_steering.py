"""Steering decoded through scGPT's MVC head (tiny checkpoints in the official format); models without a decoder."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import scconcepts as scc
from scconcepts._errors import InputError
from scconcepts.models._registry import build_encoder
from scconcepts.tl._steer import steer_embedding

from ..models._checkpoints import make_tiny_geneformer, make_tiny_scgpt


@pytest.fixture(scope="module")
def cells():
    return scc.ds.pbmc68k()[:120].copy()


@pytest.fixture(scope="module")
def scgpt_run(cells, tmp_path_factory):
    folder = make_tiny_scgpt(tmp_path_factory.mktemp("scgpt"), list(cells.var_names))
    adata = cells.copy()
    encoder = scc.tl.embed(adata, model="scgpt", checkpoint=folder, max_length=64)
    # a random head predicts values of either sign; point W along the cells' mean embedding so that, as in a
    # trained model, predictions are positive (values below zero read as "not expressed")
    state = torch.load(folder / "best_model.pt", weights_only=True)
    mean = torch.as_tensor(adata.obsm[encoder.obsm_key].mean(axis=0))
    noise = state["mvc_decoder.W.weight"]
    state["mvc_decoder.W.weight"] = 0.5 * torch.outer(mean / mean.norm(), torch.ones(noise.shape[1])) + noise
    torch.save(state, folder / "best_model.pt")
    encoder = scc.tl.embed(adata, model="scgpt", checkpoint=folder, max_length=64)
    settings = {
        "regime": "sae",
        "k": 4,
        "expansion": 2,
        "epochs": 2,
        "seed": 0,
        "n_seeds": 1,
        "atom_init": "random",
    }  # one plain SAE
    sae = scc.tl.train_sae(adata, use_rep=encoder.obsm_key, **settings).sae
    return adata, encoder, sae, folder


def test_mvc_decoding_follows_the_official_head(scgpt_run):
    adata, encoder, _, folder = scgpt_run
    state = torch.load(folder / "best_model.pt", weights_only=True)
    tokens = torch.as_tensor(encoder.gene_tokens)
    embs = F.embedding(tokens, state["encoder.embedding.weight"])
    embs = F.layer_norm(embs, (embs.shape[1],), state["encoder.enc_norm.weight"], state["encoder.enc_norm.bias"])
    query = torch.sigmoid(embs @ state["mvc_decoder.gene2query.weight"].T + state["mvc_decoder.gene2query.bias"])
    cell_emb = torch.as_tensor(adata.obsm[encoder.obsm_key][:10])
    expected = torch.bmm((query @ state["mvc_decoder.W.weight"].T).expand(10, -1, -1), cell_emb.unsqueeze(2)).squeeze(2)
    decoded = encoder.decode_expression(adata.obsm[encoder.obsm_key][:10], adata[:10])
    assert (decoded > 0).mean() > 0.9
    np.testing.assert_allclose(decoded, expected.clamp_min(0).numpy(), rtol=1e-4, atol=1e-5)


def test_own_activation_changes_nothing_and_off_changes_genes(scgpt_run):
    adata, encoder, sae, _ = scgpt_run
    concept = int(np.argmax(np.asarray((adata.obsm["X_concepts"] > 0).sum(axis=0)).ravel()))
    rows = np.flatnonzero(adata.obsm["X_concepts"][:, concept].toarray().ravel() > 0)
    _, own, _ = steer_embedding(sae, adata.obsm[encoder.obsm_key][rows], concept, "off")
    same = scc.tl.steer(adata, concept=concept, value=own, cells=rows, encoder=encoder, sae=sae, enrich=False)
    assert np.abs(same["genes"]["lfc"]).max() < 1e-5
    off = scc.tl.steer(adata, concept=concept, value="off", encoder=encoder, sae=sae, enrich=False, n_null=3)
    assert np.abs(off["genes"]["lfc"]).max() > 1e-3


def test_checkpoint_without_mvc_weights_and_geneformer_say_so(cells, tmp_path, scgpt_run):
    adata, _, sae, folder = scgpt_run
    state = torch.load(folder / "best_model.pt", weights_only=True)
    bare = make_tiny_scgpt(tmp_path / "bare", list(cells.var_names))
    torch.save({k: v for k, v in state.items() if not k.startswith("mvc_decoder.")}, bare / "best_model.pt")
    encoder = build_encoder("scgpt", cells, checkpoint=bare, max_length=64)
    assert encoder.decodes_to is None
    with pytest.raises(InputError, match="no MVC decoder weights"):
        scc.tl.steer(adata, concept=0, value="x2", cells=np.arange(5), encoder=encoder, sae=sae)
    geneformer = build_encoder("geneformer", cells, checkpoint=make_tiny_geneformer(tmp_path / "gf", cells.var_names))
    with pytest.raises(InputError, match="no expression decoder"):
        scc.tl.steer(adata, concept=0, value="x2", cells=np.arange(5), encoder=geneformer, sae=sae)
