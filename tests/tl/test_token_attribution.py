"""Token concepts re-encoded from counts (TokenConceptEncoder) give back the stored per-cell max, and attribute."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import scconcepts
from scconcepts._errors import InputError
from scconcepts.attribution import TokenConceptEncoder
from scconcepts.attribution._token_concepts import identity
from scconcepts.tl._concept_model import concept_model

from ..models._checkpoints import make_tiny_geneformer, make_tiny_scgpt

N_CELLS, MAX_TOKENS, TOKEN_SEED = 60, 25, 3


@pytest.fixture(scope="module", params=["scgpt", "geneformer"])
def token_run(request, tmp_path_factory):
    """A token run on 60 cells: layer_1 states, a sample of at most 25 tokens per cell (seed 3), a small token SAE."""
    torch.set_num_threads(1)
    adata = scconcepts.ds.pbmc68k()[:N_CELLS].copy()
    folder = tmp_path_factory.mktemp(request.param)
    make = make_tiny_scgpt if request.param == "scgpt" else make_tiny_geneformer
    checkpoint = make(folder / "ckpt", list(adata.var_names[:600]))
    encoder = scconcepts.tl.embed(adata, model=request.param, checkpoint=checkpoint)  # at the last layer
    store = scconcepts.tl.token_activations(adata, encoder, layer="layer_1", max_tokens_per_cell=MAX_TOKENS,
                                            path=folder / "store", seed=TOKEN_SEED)  # fmt: skip
    assert store.tokens_per_cell().max() == MAX_TOKENS  # the sample is in force
    result = scconcepts.tl.train_token_sae(adata, store, regime="sae", k=4, expansion=2, epochs=3, n_seeds=1)
    return adata, encoder, result.sae


def _encode(wrapped: TokenConceptEncoder, adata, rows: np.ndarray) -> np.ndarray:
    x = torch.as_tensor(wrapped.expression(adata)[rows].toarray())
    return wrapped.encode(x, torch.as_tensor(wrapped.context(adata)[rows])).numpy()


def test_unperturbed_cells_give_the_stored_per_cell_max(token_run):
    adata, encoder, sae = token_run
    wrapped, components = concept_model(adata, "concepts", encoder, sae)
    assert isinstance(wrapped, TokenConceptEncoder) and components is identity
    assert wrapped.layer == "layer_1" and wrapped.max_tokens_per_cell == MAX_TOKENS
    assert wrapped.token_seed == TOKEN_SEED
    stored = adata.obsm["X_concepts"].toarray()
    assert (stored > 0).sum() > N_CELLS  # concepts fire
    order = np.random.default_rng(0).permutation(N_CELLS)  # other batches, other order, other forward passes
    np.testing.assert_allclose(_encode(wrapped, adata, order), stored[order], atol=1e-5)
    np.testing.assert_allclose(_encode(wrapped, adata, np.arange(7)), stored[:7], atol=1e-5)
    assert encoder.layer == encoder.default_layer  # the encoder is left at its own layer


def test_the_token_sample_and_its_seed_matter(token_run):
    """Another seed or no sample gives other activations: the equality above rests on the stored sample."""
    adata, encoder, sae = token_run
    stored = adata.obsm["X_concepts"].toarray()
    rows = np.arange(N_CELLS)
    for options in ({"max_tokens_per_cell": MAX_TOKENS, "token_seed": 0}, {"max_tokens_per_cell": None}):
        other = TokenConceptEncoder(encoder, sae.encode, layer="layer_1", **options)
        assert np.abs(_encode(other, adata, rows) - stored).max() > 1e-2


def test_attribution_of_a_token_run_reencodes_the_stored_activations(token_run):
    adata, encoder, sae = token_run
    adata = adata.copy()
    alive = np.flatnonzero(adata.obsm["X_concepts"].getnnz(axis=0) >= 3)[:2]
    scconcepts.tl.attribute(adata, encoder=encoder, sae=sae, concepts=alive, n_cells=2)
    raw = adata.varm["concepts_attribution_raw"][:, alive]
    assert np.abs(raw).max() > 0 and np.all(
        adata.varm["concepts_attribution"][~adata.var_names.isin(encoder.genes)] == 0
    )
    assert adata.uns["concepts_attribution"]["params"]["engine"] == "exact"
    with pytest.raises(InputError, match="exact engine"):
        scconcepts.tl.attribute(adata, encoder=encoder, sae=sae, concepts=alive, n_cells=2, engine="fast")


def test_a_wrapped_encoder_needs_no_sae_and_a_cell_run_is_not_wrapped(token_run):
    adata, encoder, sae = token_run
    wrapped, _ = concept_model(adata, "concepts", encoder, sae)
    assert concept_model(adata, "concepts", wrapped, None) == (wrapped, identity)
    cells = adata.copy()
    cells.uns["concepts"] = {"params": {"tokens": False}}
    assert concept_model(cells, "concepts", encoder, sae)[0] is encoder
