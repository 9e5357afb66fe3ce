"""Gene-token states (tl.token_activations) against Hugging Face's BertForMaskedLM (Geneformer's model), by hooks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import scconcepts
from scconcepts._errors import InputError
from scconcepts.models._registry import build_encoder
from scconcepts.models._token_store import open_store

from ._checkpoints import make_tiny_geneformer
from .test_geneformer import _reference_ids

N_CELLS = 12


@pytest.fixture(scope="module")
def pbmc():
    return scconcepts.ds.pbmc68k()


@pytest.fixture(scope="module")
def folder(pbmc, tmp_path_factory):
    genes = [g for i, g in enumerate(pbmc.var_names) if i % 10 != 3] + [f"NOTINDATA{i}" for i in range(200)]
    return make_tiny_geneformer(tmp_path_factory.mktemp("geneformer"), genes)


@pytest.fixture(scope="module")
def encoder(pbmc, folder):
    return build_encoder("geneformer", pbmc, checkpoint=folder)


def _hooked_states(model, ids: torch.Tensor, number: int) -> torch.Tensor:
    """Output of transformer layer ``number`` (0: the embeddings) of the official model, read by a forward hook."""
    seen = {}
    module = model.bert.embeddings if number == 0 else model.bert.encoder.layer[number - 1]

    def hook(_module, _inputs, output):
        seen["states"] = output[0] if isinstance(output, tuple) else output

    handle = module.register_forward_hook(hook)
    try:
        with torch.no_grad():
            model(input_ids=ids)
    finally:
        handle.remove()
    return seen["states"][0]


@pytest.mark.parametrize("layer", ["layer_0", "layer_1", "layer_3"])
def test_token_states_equal_the_official_layers(encoder, pbmc, folder, layer, tmp_path):
    from transformers import BertForMaskedLM

    model = BertForMaskedLM.from_pretrained(folder).eval()  # as Geneformer loads it
    cells = pbmc[:N_CELLS]
    store = scconcepts.tl.token_activations(cells, encoder, layer=layer, path=tmp_path / "store", batch_size=5)
    assert encoder.layer == encoder.default_layer  # the encoder is left at its layer
    x = encoder.expression(cells).toarray()
    by_id = {int(t): i for i, t in enumerate(encoder.gene_tokens)}
    number = int(layer.split("_")[1])
    for i, row in enumerate(x):
        ids = _reference_ids(row, encoder.genes, folder, 256)
        states = _hooked_states(model, torch.tensor([ids]), number).numpy()
        genes = np.array([by_id[t] for t in ids[1:-1]])  # <cls> and <eos> are not gene tokens
        order = np.argsort(genes)
        mine = np.flatnonzero(store.cells == i)
        np.testing.assert_array_equal(store.genes[mine], genes[order])
        np.testing.assert_allclose(store.states[mine], states[1:-1][order], atol=1e-5)
        np.testing.assert_allclose(store.cls[i], states[0], atol=1e-5)
    # every expressed gene of the vocabulary up to the input size (254 genes + <cls> + <eos>), nothing else
    assert store.n_tokens == int(np.minimum((x > 0).sum(1), 254).sum()) and (x > 0).sum(1).max() > 254
    assert np.abs(np.asarray(store.states)).max() > 0.1


def test_token_sample_is_seeded_per_cell(encoder, pbmc, tmp_path):
    cells = pbmc[:N_CELLS]
    full = scconcepts.tl.token_activations(cells, encoder, path=tmp_path / "full")
    sampled = scconcepts.tl.token_activations(cells, encoder, max_tokens_per_cell=7, path=tmp_path / "s", batch_size=5)
    again = scconcepts.tl.token_activations(pbmc[3:N_CELLS], encoder, max_tokens_per_cell=7, path=tmp_path / "t")
    counts = sampled.tokens_per_cell()
    assert counts.max() == 7 and (counts == np.minimum(full.tokens_per_cell(), 7)).all()
    # a cell keeps the same tokens, whatever the chunks and the other cells
    shifted = np.asarray(sampled.cells) >= 3
    np.testing.assert_array_equal(again.genes, sampled.genes[shifted])
    np.testing.assert_allclose(again.states, sampled.states[shifted], atol=1e-6)
    # and they are the full store's states of those (cell, gene) pairs
    full_keys = {(int(c), int(g)): r for r, (c, g) in enumerate(zip(full.cells, full.genes, strict=True))}
    rows = [full_keys[(int(c), int(g))] for c, g in zip(sampled.cells, sampled.genes, strict=True)]
    np.testing.assert_allclose(sampled.states, full.states[rows], atol=1e-6)
    reopened = open_store(tmp_path / "s")
    assert reopened.n_tokens == sampled.n_tokens and reopened.info["max_tokens_per_cell"] == 7


def test_refusals_are_one_line(encoder, pbmc, tmp_path):
    with pytest.raises(InputError, match="max_tokens_per_cell"):
        scconcepts.tl.token_activations(pbmc[:3], encoder, max_tokens_per_cell=0)
    with pytest.raises(InputError, match="no layer"):
        scconcepts.tl.token_activations(pbmc[:3], encoder, layer="layer_9")
    scconcepts.tl.token_activations(pbmc[:3], encoder, path=tmp_path / "x")
    with pytest.raises(InputError, match="not empty"):
        scconcepts.tl.token_activations(pbmc[:3], encoder, path=tmp_path / "x")
    (tmp_path / "x" / "states.f32").write_bytes(b"\0" * 8)
    with pytest.raises(InputError, match="damaged"):
        open_store(tmp_path / "x")
