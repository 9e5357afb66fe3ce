"""Planted data and encoders whose true driver genes are known."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from anndata import AnnData
from torch import nn

from scconcepts.models import TorchEncoder

N_PER_GROUP = 80
N_GENES = 40
DRIVERS = {0: [0, 1, 2, 3, 4], 1: [5, 6, 7, 8, 9], 2: [10, 11, 12, 13, 14]}
DECOY = 15  # copies driver 0 in the data; the encoder never reads it


def planted_counts(seed: int = 0) -> AnnData:
    """Three groups of cells, each with its own five up-regulated genes; gene 15 tracks gene 0."""
    rng = np.random.default_rng(seed)
    n = 3 * N_PER_GROUP
    group = np.repeat(np.arange(3), N_PER_GROUP)
    rate = np.full((n, N_GENES), 1.0)
    for g, genes in DRIVERS.items():
        rate[np.ix_(group == g, genes)] = 8.0
    counts = rng.poisson(rate).astype(np.float32)
    counts[:, DECOY] = counts[:, 0] + rng.poisson(0.5, n)
    adata = AnnData(X=sp.csr_matrix(counts))
    adata.var_names = [f"g{i}" for i in range(N_GENES)]
    adata.obs_names = [f"cell{i}" for i in range(n)]
    adata.obs["group"] = group.astype(str)
    return adata


def planted_encoder(seed: int = 0) -> TorchEncoder:
    """Embedding dimension k reads only the drivers of group k, through a non-linear hidden layer."""
    torch.manual_seed(seed)
    first, second = nn.Linear(N_GENES, 12), nn.Linear(12, 3)
    with torch.no_grad():
        first.weight.zero_()
        second.weight.zero_()
        for k, genes in DRIVERS.items():
            hidden = list(range(4 * k, 4 * k + 4))
            first.weight[np.ix_(hidden, genes)] = torch.rand(4, len(genes)) * 0.08 + 0.02
            second.weight[k, hidden] = torch.rand(4) + 0.5
        first.bias.uniform_(-0.5, 0.0)
        second.bias.zero_()
    module = nn.Sequential(first, nn.Tanh(), second)
    return TorchEncoder(module, [f"g{i}" for i in range(N_GENES)], name="planted")


class ThresholdConcepts(nn.Module):
    """Stands for an SAE's encode: concept k = ReLU(embedding_k - threshold_k)."""

    def __init__(self, thresholds: torch.Tensor) -> None:
        super().__init__()
        self.thresholds = thresholds

    def encode(self, emb: torch.Tensor) -> torch.Tensor:
        return torch.relu(emb - self.thresholds)


def with_concepts(adata: AnnData, encoder: TorchEncoder) -> ThresholdConcepts:
    """Set thresholds halfway between in-group and out-group embedding means; store activations."""
    emb = encoder.embed(adata)
    group = adata.obs["group"].astype(int).to_numpy()
    thresholds = torch.tensor(
        [(emb[group == k, k].mean() + emb[group != k, k].mean()) / 2 for k in range(3)], dtype=torch.float32
    )
    concepts = ThresholdConcepts(thresholds)
    with torch.no_grad():
        adata.obsm["X_concepts"] = sp.csr_matrix(concepts.encode(torch.as_tensor(emb)).numpy())
    adata.obsm["X_planted"] = emb
    return concepts


@pytest.fixture
def planted() -> tuple[AnnData, TorchEncoder, ThresholdConcepts]:
    adata = planted_counts()
    encoder = planted_encoder()
    concepts = with_concepts(adata, encoder)
    return adata, encoder, concepts
