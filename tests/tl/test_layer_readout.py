"""``tl.layer_readout`` on the tiny scGPT and Geneformer checkpoints: every layer in one pass, probes beside nulls."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch

import scconcepts
from scconcepts._errors import InputError
from scconcepts.models import TorchEncoder
from scconcepts.models._layer_states import layer_states
from scconcepts.models._registry import build_encoder
from scconcepts.models._token_states import cell_token_states, gene_columns
from scconcepts.models._tokens import cell_seeds

from ..models._checkpoints import make_tiny_geneformer, make_tiny_scgpt

N_GENES = 600


@pytest.fixture(scope="module")
def planted():
    """240 pbmc68k cells, half of them with a 20-gene program switched on (+30 counts): obs["program"] on/off."""
    rng = np.random.default_rng(0)
    adata = scconcepts.ds.pbmc68k()[:240].copy()
    x = adata.X.toarray()
    on = rng.random(adata.n_obs) < 0.5
    x[np.ix_(on, rng.choice(N_GENES, 20, replace=False))] += 30
    adata.X = sp.csr_matrix(x)
    adata.obs["program"] = np.where(on, "on", "off")
    return adata


def _encoder(model, folder, adata):
    make = make_tiny_scgpt if model == "scgpt" else make_tiny_geneformer
    return build_encoder(model, adata, checkpoint=make(folder / "ckpt", list(adata.var_names[:N_GENES])))


@pytest.fixture(scope="module", params=["scgpt", "geneformer"])
def encoder(request, tmp_path_factory, planted):
    return _encoder(request.param, tmp_path_factory.mktemp(request.param), planted)


def test_one_pass_reads_each_layer_as_the_encoder_set_to_it(encoder, planted):
    cells = planted[:30]
    x = encoder.expression(cells).toarray()
    context = encoder.context(cells)
    seeds = cell_seeds(cells.obs_names)
    lookup = gene_columns(encoder)
    layer = encoder.layer
    read = layer_states(encoder, x, context, encoder.layers(), lookup=lookup, seeds=seeds, max_tokens_per_cell=5)
    assert encoder.layer == layer  # left at its layer
    for name in encoder.layers():
        encoder.select_layer(name)
        with torch.no_grad():
            pooled = encoder.encode(torch.as_tensor(x), None if context is None else torch.as_tensor(context))
        tokens = cell_token_states(encoder, x, context, lookup=lookup, seeds=seeds, max_tokens_per_cell=5)
        np.testing.assert_allclose(read[name].pooled, pooled.numpy(), atol=1e-5)
        np.testing.assert_array_equal(read[name].cells, tokens.cells)
        np.testing.assert_array_equal(read[name].genes, tokens.genes)
        np.testing.assert_allclose(read[name].states, tokens.states, atol=1e-5)
    encoder.select_layer(layer)
    # the layers differ: a hook that read the same module for every layer would not
    first, last = encoder.layers()[0], encoder.layers()[-1]
    assert np.abs(read[first].states - read[last].states).max() > 1e-2


def test_planted_program_is_read_at_the_layer_that_keeps_it_and_not_at_a_flat_one(tmp_path, planted):
    folder = make_tiny_scgpt(tmp_path / "ckpt", list(planted.var_names[:N_GENES]))
    encoder = build_encoder("scgpt", planted, checkpoint=folder)
    with torch.no_grad():  # layer 2 forgets its input: every token's output is the norm's bias
        encoder.model.transformer_encoder.layers[1].norm2.weight.zero_()
    table = scconcepts.tl.layer_readout(planted, encoder, labels_key="program", epochs=5)
    assert table["layer"].tolist() == ["layer_1", "layer_2"]
    first, flat = table.iloc[0], table.iloc[1]
    # measured: probe 0.87 against a null of 0.5 (2 balanced classes); the flat layer 0.50 against 0.50
    assert first["probe"] > first["probe_null"] + 0.25
    assert first["probe_null"] < 0.65
    assert flat["probe"] < 0.6 and abs(flat["probe"] - flat["probe_null"]) < 0.1
    # measured: SAE 0.72, PCA (8 of 32 components) 0.44 on held-out tokens; nothing to explain at the flat layer
    assert 0.3 < first["pca_r2"] < first["sae_r2"] < 1.0
    assert np.isnan(flat["sae_r2"]) and np.isnan(flat["pca_r2"])
    assert (table["n_cells"] == 240).all() and (table["n_tokens"] > 0).all()


def test_one_row_per_layer_asked_for_by_depth(encoder, planted):
    layers = encoder.layers()
    asked = [layers[-1], layers[0], layers[-1]]
    table = scconcepts.tl.layer_readout(planted, encoder, asked, labels_key="program", n_cells=80,
                                        max_tokens_per_cell=4, epochs=2)  # fmt: skip
    assert table["layer"].tolist() == [layers[0], layers[-1]]
    assert list(table.columns) == ["layer", "probe", "probe_sd", "probe_null", "sae_r2", "pca_r2", "n_cells",
                                   "n_tokens"]  # fmt: skip
    assert (table["n_cells"] == 80).all()


def test_the_same_seed_gives_the_same_table_and_another_seed_another(tmp_path, planted):
    encoder = _encoder("geneformer", tmp_path, planted)
    options = {"labels_key": "program", "n_cells": 80, "max_tokens_per_cell": 4, "epochs": 2}
    table = scconcepts.tl.layer_readout(planted, encoder, ["layer_1"], **options).drop(columns="layer")
    again = scconcepts.tl.layer_readout(planted, encoder, ["layer_1"], **options).drop(columns="layer")
    other = scconcepts.tl.layer_readout(planted, encoder, ["layer_1"], **options, seed=1).drop(columns="layer")
    np.testing.assert_array_equal(table.to_numpy(), again.to_numpy())
    assert not np.allclose(table[["probe_null", "sae_r2"]].to_numpy(), other[["probe_null", "sae_r2"]].to_numpy())


def test_no_labels_key_reads_the_layers_without_a_probe(encoder, planted):
    table = scconcepts.tl.layer_readout(planted, encoder, encoder.layers()[:1], labels_key=None, n_cells=60,
                                        max_tokens_per_cell=4, epochs=1)  # fmt: skip
    assert len(table) == 1 and np.isnan(table["probe"]).all() and np.isfinite(table["sae_r2"]).all()


@pytest.mark.parametrize(
    ("layers", "labels_key", "fragment"),
    [
        (["layer_9"], "program", "has no layer 'layer_9'; choose from"),
        ([], "program", "no layers given"),
        (None, "missing", "labels key 'missing' is not a column"),
        (None, "program", "k=32 must be below the dimension of layer_"),
    ],
)
def test_bad_layers_labels_and_k_are_refused(encoder, planted, layers, labels_key, fragment):
    with pytest.raises(InputError, match=fragment):
        scconcepts.tl.layer_readout(planted, encoder, layers, labels_key=labels_key, k=32)


def test_a_model_without_token_layers_is_refused(planted):
    module = torch.nn.Linear(5, 3)
    encoder = TorchEncoder(module, list(planted.var_names[:5]))
    with pytest.raises(InputError, match="compares the layers of a transformer"):
        scconcepts.tl.layer_readout(planted, encoder)
