"""The consensus SAE's seed runs on two dask workers equal the runs of one process."""

import numpy as np
import pytest
from anndata import AnnData

from scconcepts import tl
from scconcepts._threads import torch_threads
from scconcepts.sae import SAEConfig
from scconcepts.sae._consensus import consensus_train

from ..sae._planted import planted_embeddings

#: Few epochs and small batches: enough for most planted atoms to recur across seeds.
FAST = {"epochs": 40, "batch_size": 64}


def _planted(n_cells=1500, seed=0):
    return planted_embeddings(n_cells=n_cells, dim=16, n_atoms=24, active=2, noise=0.02, seed=seed)[0]


@pytest.mark.slow
def test_consensus_seed_runs_on_two_workers_equal_one_process(cluster_client):
    data = _planted()
    config = SAEConfig(k=2, expansion=2, seed=4, **FAST)
    with torch_threads(1):  # as the workers train: earlier tests may have left torch with more threads
        here = consensus_train(data, config, n_seeds=3)
        there = consensus_train(data, config, n_seeds=3, client=cluster_client)
    assert [run.seed for run in there.runs] == [4, 5, 6]  # the seeds' order, whatever order the workers answer in
    for mine, theirs in zip(here.runs, there.runs, strict=True):
        np.testing.assert_allclose(theirs.decoder, mine.decoder, atol=1e-6, rtol=0)
    # different seeds really give different runs: equality above is not a constant
    assert np.abs(here.runs[0].decoder - here.runs[1].decoder).max() > 0.1
    np.testing.assert_allclose(there.training.sae.W_dec.detach(), here.training.sae.W_dec.detach(), atol=1e-6)
    np.testing.assert_allclose(there.table["matched_cosine"], here.table["matched_cosine"], atol=1e-6)
    np.testing.assert_allclose(there.table["reproducibility"], here.table["reproducibility"], atol=1e-6)
    assert there.table["composite_of"].equals(here.table["composite_of"])
    assert there.summary == here.summary
    assert here.summary["mode"] == "drop" and here.summary["reproducible_clusters"] >= 5  # the refit path ran


def test_train_sae_with_a_client_gives_the_same_concepts(cluster_client):
    adata = AnnData(np.zeros((1000, 3), dtype=np.float32), obsm={"X_planted": _planted(1000, seed=1)})
    options = {"use_rep": "X_planted", "regime": "sae", "k": 2, "expansion": 2, "n_seeds": 3, "labels_key": None,
               "unreproducible": "flag", "epochs": 15, "batch_size": 64}  # fmt: skip
    here, there = adata.copy(), adata.copy()
    single = tl.train_sae(here, **options)
    spread = tl.train_sae(there, **options, client=cluster_client)
    np.testing.assert_allclose(spread.sae.W_dec.detach(), single.sae.W_dec.detach(), atol=1e-6, rtol=0)
    assert abs(there.obsm["X_concepts"] - here.obsm["X_concepts"]).max() <= 1e-6
    mine, theirs = here.uns["concepts"]["table"], there.uns["concepts"]["table"]
    np.testing.assert_allclose(theirs["reproducibility"], mine["reproducibility"], atol=1e-6)
    np.testing.assert_allclose(theirs["matched_cosine"], mine["matched_cosine"], atol=1e-6)
    assert list(theirs["composite_of"]) == list(mine["composite_of"])
    assert there.uns["concepts"]["metrics"]["reproduced_share"] == here.uns["concepts"]["metrics"]["reproduced_share"]
