"""Attribution split over cell chunks on dask workers equals attribution in one process."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from anndata import AnnData

from scconcepts import tl
from scconcepts._errors import InputError
from scconcepts.attribution._workers import _split, merge_results
from scconcepts.models import TorchEncoder

VARM = ("concepts_attribution", "concepts_attribution_raw", "concepts_attribution_pval",
        "concepts_attribution_padj", "concepts_attribution_fraction", "concepts_attribution_ncells")  # fmt: skip


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    programs = rng.poisson(2.0, (4, 80)) * (rng.random((4, 80)) < 0.15)
    membership = rng.random((400, 4)) < 0.4
    counts = rng.poisson(0.3 + membership @ programs).astype(np.float32)
    adata = AnnData(sp.csr_matrix(counts))
    adata.var_names = [f"g{i}" for i in range(80)]
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(80, 32), torch.nn.Tanh(), torch.nn.Linear(32, 6))
    encoder = TorchEncoder(module, list(adata.var_names))
    tl.embed(adata, model=encoder)
    result = tl.train_sae(adata, use_rep="X_torch", regime="sae", k=3, expansion=3, epochs=20, labels_key=None)
    return adata, encoder, result.sae


@pytest.mark.parametrize(
    ("method", "engine"),
    [("baseline", "auto"), ("mask", "exact"), ("counterfactual", "shortcut"), ("mean", "fast")],
)
def test_two_workers_give_the_single_process_attribution(fitted, cluster_client, method, engine, monkeypatch):
    monkeypatch.setattr("scconcepts.attribution._workers.DEFAULT_CELLS_PER_CHUNK", 9)  # many chunks
    adata, encoder, sae = fitted
    here, there = adata.copy(), adata.copy()
    tl.attribute(here, encoder=encoder, sae=sae, method=method, engine=engine, n_cells=30)
    tl.attribute(there, encoder=encoder, sae=sae, method=method, engine=engine, n_cells=30, client=cluster_client)
    # float32 forwards batch the cells differently; p-values amplify that rounding a little
    for key in VARM:
        tolerance = 2e-5 if key.endswith(("pval", "padj")) else 1e-6
        np.testing.assert_allclose(there.varm[key], here.varm[key], atol=tolerance, rtol=0, err_msg=key)
    assert np.abs(here.varm["concepts_attribution"]).max() > 0


def test_merging_does_not_depend_on_the_split(fitted):
    from scconcepts.attribution import GeneStatistics, get_strategy, run_attribution, select_cells

    adata, encoder, sae = fitted
    x = encoder.expression(adata)
    concepts = np.flatnonzero(adata.obsm["X_concepts"].getnnz(axis=0) >= 5)
    chosen = select_cells(adata.obsm["X_concepts"], concepts, n_cells=40)
    options = {"strategy": get_strategy("mask"), "stats": GeneStatistics.from_expression(x, quantile=0.95),
               "engine": "exact", "progress": False}  # fmt: skip
    whole = run_attribution(encoder, sae.encode, x, None, concepts, chosen, **options)
    for size in (7, 50):
        parts = [run_attribution(encoder, sae.encode, x, None, concepts, c, neighbours=n, **options)
                 for c, n in _split(chosen, None, size)]  # fmt: skip
        merged = merge_results(parts[::-1])  # the order the workers answer in does not matter either
        np.testing.assert_allclose(merged.score, whole.score, atol=1e-6)
        np.testing.assert_allclose(merged.padj, whole.padj, atol=2e-5)
        np.testing.assert_array_equal(merged.n_perturbed, whole.n_perturbed)


def test_screen_and_confirm_is_refused_on_workers(fitted, cluster_client):
    adata, encoder, sae = fitted
    with pytest.raises(InputError, match="screen\\+confirm"):
        tl.attribute(adata.copy(), encoder=encoder, sae=sae, engine="screen+confirm", client=cluster_client)
