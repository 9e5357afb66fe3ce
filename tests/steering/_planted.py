"""A planted generative model: orthonormal concept atoms and a linear decoder that maps each atom to its own genes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from anndata import AnnData
from torch import nn

from scconcepts.models import TorchEncoder
from scconcepts.sae import TopKSAE

N_DIMS, N_CONCEPTS, N_GENES, BLOCK = 8, 8, 40, 5
BASELINE = 20.0


def planted_genes(concept: int) -> tuple[list[str], list[str]]:
    """Genes the decoder maps concept ``concept``'s atom to: raised (+) and lowered (-) by the concept."""
    start = concept * BLOCK
    return [f"G{g}" for g in range(start, start + 3)], [f"G{g}" for g in range(start + 3, start + BLOCK)]


def planted(n_cells: int = 120, seed: int = 0, *, with_decoder: bool = True):
    """Return ``(adata, encoder, sae)``: each cell mixes two concepts; the decoder is linear in the embedding."""
    rng = np.random.default_rng(seed)
    atoms = np.linalg.qr(rng.standard_normal((N_DIMS, N_DIMS)))[0].T[:N_CONCEPTS]  # orthonormal rows
    loadings = np.zeros((N_GENES, N_CONCEPTS))
    for c in range(N_CONCEPTS):
        up, down = planted_genes(c)
        loadings[[int(g[1:]) for g in up], c] = 2.0
        loadings[[int(g[1:]) for g in down], c] = -1.5
    decoder = nn.Linear(N_DIMS, N_GENES)
    with torch.no_grad():
        decoder.weight.copy_(torch.as_tensor(loadings @ atoms, dtype=torch.float32))
        decoder.bias.fill_(BASELINE)
    sae = TopKSAE(N_DIMS, N_CONCEPTS, 2)
    with torch.no_grad():
        sae.W_dec.copy_(torch.as_tensor(atoms, dtype=torch.float32))
        sae.W_enc.copy_(torch.as_tensor(atoms, dtype=torch.float32))
    sae.eval()
    types = rng.integers(0, 4, n_cells)
    codes = np.zeros((n_cells, N_CONCEPTS))
    codes[np.arange(n_cells), types] = rng.uniform(1.0, 3.0, n_cells)  # concept t in type t
    codes[np.arange(n_cells), 4 + rng.integers(0, 4, n_cells)] = rng.uniform(0.2, 0.8, n_cells)
    embedding = (codes @ atoms).astype(np.float32)
    genes = [f"G{g}" for g in range(N_GENES)]
    adata = AnnData(X=np.ones((n_cells, N_GENES), dtype=np.float32))
    adata.var_names = genes
    adata.obs_names = [f"cell{i}" for i in range(n_cells)]
    adata.obs["cell_type"] = pd.Categorical([f"type{t}" for t in types])
    adata.obsm["X_torch"] = embedding
    adata.obsm["X_umap"] = embedding[:, :2].copy()
    adata.uns["concepts"] = {
        "params": {"use_rep": "X_torch", "labels_key": "cell_type"},
        "table": pd.DataFrame(
            {"label": [f"program {c}" for c in range(N_CONCEPTS)]}, index=[str(c) for c in range(N_CONCEPTS)]
        ),
    }
    encoder = TorchEncoder(nn.Linear(N_GENES, N_DIMS), genes, decoder=decoder if with_decoder else None)
    return adata, encoder, sae
