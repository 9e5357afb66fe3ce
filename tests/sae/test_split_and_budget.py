"""Held-out metrics come from test cells early stopping never saw; dead latents under both inferences; budget."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from anndata import AnnData

from scconcepts import tl
from scconcepts._errors import InputError
from scconcepts.sae import SAEConfig, reconstruction_metrics, split_rows, train

from ._planted import planted_embeddings


@pytest.fixture(scope="module")
def trained():
    embeddings, _ = planted_embeddings(n_cells=1200, dim=8, n_atoms=16, active=2, noise=0.3)
    adata = AnnData(np.zeros((len(embeddings), 1), dtype=np.float32))
    adata.obsm["X_emb"] = embeddings
    adata.obs["cell_type"] = pd.Categorical(np.arange(len(embeddings)) % 3)
    result = tl.train_sae(adata, use_rep="X_emb", regime="sae", k=2, expansion=2, n_seeds=1, epochs=8, batch_size=64)
    return adata, embeddings, result


def test_reported_metrics_are_on_test_cells_not_the_validation_cells(trained):
    adata, embeddings, result = trained
    info = adata.uns["concepts"]
    train_rows, val_rows, test_rows = result.train_rows, result.val_rows, result.test_rows
    assert not set(train_rows) & set(val_rows) and not set(val_rows) & set(test_rows)
    assert not set(train_rows) & set(test_rows)
    assert len(train_rows) + len(val_rows) + len(test_rows) == adata.n_obs
    np.testing.assert_array_equal(info["test_cells"], adata.obs_names[test_rows])
    np.testing.assert_array_equal(info["val_cells"], adata.obs_names[val_rows])
    on_test = reconstruction_metrics(result.sae, embeddings, test_rows)
    on_val = reconstruction_metrics(result.sae, embeddings, val_rows)
    assert info["metrics"]["r2"] == pytest.approx(on_test["r2"])
    assert info["metrics"]["n_cells_heldout"] == len(test_rows)
    # swapping the test rows for the validation rows changes the figures: they are not the same cells
    assert on_val["r2"] != pytest.approx(on_test["r2"], abs=1e-6)
    assert on_val["mse"] != pytest.approx(on_test["mse"], abs=1e-9)


def test_dead_latents_are_reported_under_the_encoder_and_under_pursuit(trained):
    _, embeddings, result = trained
    sae = result.sae
    with torch.no_grad():  # latent 0 can no longer win the encoder's Top-K, while pursuit still uses its atom
        sae.b_enc[0] = -1e6
    metrics = reconstruction_metrics(sae, embeddings, result.test_rows)
    assert sae.inference == "pursuit"
    assert metrics["dead_fraction"] == metrics["dead_fraction_pursuit"]
    assert metrics["dead_fraction_encoder"] >= 1 / sae.n_latents
    encoder_fired = (sae.encode(torch.as_tensor(embeddings), inference="encoder") > 0).any(0)
    assert not encoder_fired[0]
    assert metrics["dead_fraction_encoder"] == pytest.approx(1 - encoder_fired.float().mean().item())


def test_the_training_budget_scales_with_the_data():
    small, large = SAEConfig().resolved(10, 2_600), SAEConfig().resolved(10, 100_000)
    steps = [c.epochs * int(np.ceil(n / c.batch_size)) for c, n in ((small, 2_600), (large, 100_000))]
    assert steps[0] >= 3_000 and large.epochs == 10  # small data: a step floor; large data: a few epochs
    assert steps[1] < 20_000 * 0.25  # was 20,000 steps whatever the size
    assert small.val_every > 1 and small.epochs // small.val_every <= 40
    result = train(np.random.default_rng(0).normal(size=(300, 4)).astype(np.float32), SAEConfig(epochs=12, val_every=4))
    assert [entry["epoch"] for entry in result.history] == [3, 7, 11]


def test_splits_hold_cells_in_every_part_or_refuse():
    split = split_rows(20, 0.1, 0.15, seed=0)
    assert len(split.val) == 2 and len(split.test) == 3 and len(split.train) == 15
    with pytest.raises(InputError, match="too few"):
        split_rows(2, 0.4, 0.4, seed=0)
    with pytest.raises(InputError, match="test_fraction"):
        SAEConfig(val_fraction=0.5, test_fraction=0.5).validate(4)
