"""Steering decoded through scVI's generative model: an unchanged code returns the original expression."""

import numpy as np
import pytest
import torch

import scconcepts as scc
from scconcepts.tl._steer import steer_embedding

pytestmark = pytest.mark.slow


def _busy_concept(adata):
    counts = np.asarray((adata.obsm["X_concepts"] > 0).sum(axis=0)).ravel()
    return int(np.argmax(counts))


def test_own_activations_return_the_original_decoded_expression(tiny_scvi):
    adata, encoder, sae = tiny_scvi
    concept = _busy_concept(adata)
    rows = np.flatnonzero(adata.obsm["X_concepts"][:, concept].toarray().ravel() > 0)
    x = adata.obsm["X_scvi"][rows]
    _, own, _ = steer_embedding(sae, x, concept, "off")
    steered, _, _ = steer_embedding(sae, x, concept, own)
    original = encoder.decode_expression(x, adata[rows])
    np.testing.assert_allclose(encoder.decode_expression(steered, adata[rows]), original, rtol=1e-5, atol=1e-5)
    result = scc.tl.steer(adata, concept=concept, value=own, cells=rows, encoder=encoder, sae=sae, enrich=False)
    assert np.abs(result["genes"]["lfc"]).max() < 1e-5
    off = scc.tl.steer(adata, concept=concept, value="off", cells=rows, encoder=encoder, sae=sae, enrich=False)
    assert np.abs(off["genes"]["lfc"]).max() > 1e-3


def test_decoder_matches_scvi_tools_own_inference_and_generative(tiny_scvi):
    adata, encoder, _ = tiny_scvi
    cells = adata[:40]
    module = encoder.model.module
    counts = torch.as_tensor(encoder.expression(cells).toarray())
    batch = torch.zeros(40, 1, dtype=torch.long)
    with torch.no_grad():
        inference = module.inference(counts, batch)
        z = inference["qz"].loc
        px = module.generative(z=z, library=inference["library"], batch_index=batch)["px"]
    expected = px.scale.numpy() * 1e4
    np.testing.assert_allclose(encoder.decode_expression(cells.obsm["X_scvi"], cells), expected, rtol=1e-4, atol=1e-6)


def test_hidden_layer_embedding_decodes_through_the_rest_of_the_encoder(tiny_scvi):
    adata, encoder, _ = tiny_scvi
    cells = adata[:30]
    latent = encoder.decode_expression(cells.obsm["X_scvi"], cells)
    for layer in ("hidden", "hidden_1"):
        encoder.select_layer(layer)
        try:
            hidden = encoder.embed(cells)
            assert hidden.shape[1] != cells.obsm["X_scvi"].shape[1]
            np.testing.assert_allclose(encoder.decode_expression(hidden, cells), latent, rtol=1e-4, atol=1e-6)
        finally:
            encoder.select_layer(None)
