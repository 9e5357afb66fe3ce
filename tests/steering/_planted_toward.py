"""A planted model for steering toward a state: two groups that differ in exactly one concept (concept 0)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from anndata import AnnData
from torch import nn

from scconcepts.models import TorchEncoder
from scconcepts.sae import TopKSAE

N_DIMS = N_CONCEPTS = 8
N_GENES, BLOCK, BASELINE = 40, 5, 20.0
#: Genes concept 0 raises and lowers (the other concepts own the following blocks of five).
UP, DOWN = ["G0", "G1", "G2"], ["G3", "G4"]


def planted_toward(n_per_group: int = 200, seed: int = 0):
    """``(adata, encoder, sae)``: groups ``low`` and ``high`` share concepts 1-7 and differ in concept 0 only.

    Every cell carries concepts 1-7 at uniform(0, 1.5) activations; concept 0 is uniform(0.1, 0.4) in ``low``
    and uniform(2.3, 2.7) in ``high``. The SAE holds the 8 orthonormal atoms (all kept per cell, so its codes
    are the planted activations); the decoder maps each concept to its own five genes; the counts are Poisson
    draws of the decoded expression.
    """
    rng = np.random.default_rng(seed)
    atoms = np.linalg.qr(rng.standard_normal((N_DIMS, N_DIMS)))[0].T
    loadings = np.zeros((N_GENES, N_CONCEPTS))
    for c in range(N_CONCEPTS):
        loadings[c * BLOCK : c * BLOCK + 3, c] = 2.0
        loadings[c * BLOCK + 3 : (c + 1) * BLOCK, c] = -1.5
    decoder = nn.Linear(N_DIMS, N_GENES)
    with torch.no_grad():
        decoder.weight.copy_(torch.as_tensor(loadings @ atoms, dtype=torch.float32))
        decoder.bias.fill_(BASELINE)
    sae = TopKSAE(N_DIMS, N_CONCEPTS, N_CONCEPTS)
    with torch.no_grad():
        sae.W_dec.copy_(torch.as_tensor(atoms, dtype=torch.float32))
        sae.W_enc.copy_(torch.as_tensor(atoms, dtype=torch.float32))
    sae.eval()
    n = 2 * n_per_group
    high = np.arange(n) >= n_per_group
    codes = rng.uniform(0.0, 1.5, (n, N_CONCEPTS))
    codes[:, 0] = np.where(high, rng.uniform(2.3, 2.7, n), rng.uniform(0.1, 0.4, n))
    embedding = (codes @ atoms).astype(np.float32)
    with torch.no_grad():
        expression = decoder(torch.as_tensor(embedding)).numpy()
    genes = [f"G{g}" for g in range(N_GENES)]
    adata = AnnData(X=rng.poisson(np.clip(expression, 0.1, None)).astype(np.float32))
    adata.var_names = genes
    adata.obs_names = [f"cell{i}" for i in range(n)]
    adata.obs["cell_type"] = pd.Categorical(np.where(high, "high", "low"))
    adata.obs["depth"] = np.arange(n) % 3
    adata.obsm["X_torch"] = embedding
    adata.obsm["X_umap"] = embedding[:, :2].copy()
    table = pd.DataFrame(
        {"label": [f"program {c}" for c in range(N_CONCEPTS)], "reproducible": [True] * N_CONCEPTS},
        index=[str(c) for c in range(N_CONCEPTS)],
    )
    adata.uns["concepts"] = {"params": {"use_rep": "X_torch", "labels_key": "cell_type"}, "table": table}
    encoder = TorchEncoder(nn.Linear(N_GENES, N_DIMS), genes, decoder=decoder)
    return adata, encoder, sae
