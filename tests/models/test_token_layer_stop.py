"""Token extraction runs the transformer only up to the layer it reads, in chunks of cells within a token budget."""

from __future__ import annotations

import pytest

import scconcepts
from scconcepts import tl
from scconcepts.models._registry import build_encoder

from ._checkpoints import make_tiny_geneformer, make_tiny_scgpt

N_CELLS = 6


@pytest.fixture(scope="module")
def pbmc():
    return scconcepts.ds.pbmc68k()[:N_CELLS].copy()


def _count_calls(modules) -> tuple[list[int], list]:
    calls = [0] * len(modules)

    def counter(i):
        def hook(*_):
            calls[i] += 1

        return hook

    return calls, [module.register_forward_hook(counter(i)) for i, module in enumerate(modules)]


@pytest.mark.parametrize("model", ["scgpt", "geneformer"])
def test_token_activations_stop_at_the_layer_read(model, pbmc, tmp_path):
    make = make_tiny_scgpt if model == "scgpt" else make_tiny_geneformer
    folder = make(tmp_path / model, list(pbmc.var_names), n_layers=3)
    encoder = build_encoder(model, pbmc, checkpoint=folder)
    if model == "scgpt":  # our post-norm layer calls each layer's feed-forward, not the layer module itself
        watched = [layer.linear1 for layer in encoder.model.transformer_encoder.layers]
    else:
        watched = list(encoder.checkpoint.all_layers)
    assert len(watched) == 3
    calls, handles = _count_calls(watched)
    try:
        store = tl.token_activations(pbmc, encoder, layer="layer_1", path=tmp_path / "store")
        assert store.info["layer"] == "layer_1" and store.n_tokens > 0
        assert calls[0] > 0 and calls[1:] == [0, 0]
        calls[:] = [0, 0, 0]
        tl.token_activations(pbmc, encoder, layer="layer_3", path=tmp_path / "store", overwrite=True)
        assert all(count > 0 for count in calls)
    finally:
        for handle in handles:
            handle.remove()


def test_chunks_keep_whole_cells_within_the_token_budget():
    from scconcepts.models._token_states import chunk_bounds

    expressed = [5, 5, 5, 20, 1, 1, 1, 1]
    assert chunk_bounds(expressed, batch_size=3, chunk_tokens=10) == [(0, 2), (2, 3), (3, 4), (4, 7), (7, 8)]
    assert chunk_bounds(expressed, batch_size=100, chunk_tokens=1000) == [(0, 8)]
    assert chunk_bounds([], batch_size=4, chunk_tokens=10) == []
