"""`tl.apply` on scVI query cells from a batch the model never saw: mapped as scvi-tools maps queries."""

import numpy as np
import pytest

import scconcepts as scc
from scconcepts._errors import InputError
from scconcepts.models._scvi_train import build_scvi

pytestmark = pytest.mark.slow


def test_new_batch_is_query_mapped_and_the_reference_is_untouched():
    pbmc = scc.ds.pbmc68k()
    reference = pbmc[:300].copy()
    reference.obs["batch"] = np.where(np.arange(reference.n_obs) % 2, "a", "b")
    encoder = build_scvi(reference, batch_key="batch", n_latent=6, n_top_genes=300, max_epochs=2,
                         early_stopping=False, encode_covariates=True)  # fmt: skip
    reference.obsm["X_scvi"] = encoder.embed(reference)
    plain = {"n_seeds": 1, "atom_init": "random"}  # one SAE from a random start
    sae = scc.tl.train_sae(reference, use_rep="X_scvi", regime="sae", k=3, expansion=2, epochs=2, seed=0, **plain).sae
    query = pbmc[300:420].copy()
    query.obs["batch"] = "c"
    with pytest.raises(InputError, match="not seen"):
        encoder.context(query)  # the reference model alone cannot read batch c
    used = scc.tl.apply(query, encoder=encoder, sae=sae, reference=reference, query_epochs=2)
    assert used is not encoder and "c" in used._batches
    assert np.isfinite(query.obsm["X_scvi"]).all() and query.obsm["X_concepts"].shape == (120, sae.n_latents)
    assert query.obsm["X_umap"].shape == (120, 2)
    # only the new batch's weights were trained: reference cells embed as before through the query model
    np.testing.assert_allclose(used.embed(reference[:50]), reference.obsm["X_scvi"][:50], atol=1e-4)
    np.testing.assert_allclose(encoder.embed(reference[:50]), reference.obsm["X_scvi"][:50], atol=1e-6)
