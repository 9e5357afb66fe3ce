"""Synthetic embeddings whose cell types are tied to planted atoms: each cell is one atom of its type."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp


def typed_embeddings(
    n_cells: int = 1500,
    dim: int = 16,
    n_atoms: int = 16,
    noise: float = 0.02,
    offset: float = 5.0,
    seed: int = 0,
    cell_seed: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (embeddings, atoms, labels): cell i is atom ``labels[i]`` times a magnitude in [1, 3], plus noise.

    ``seed`` fixes the atoms; ``cell_seed``, when given, draws the cells apart from them, so that two
    calls with the same ``seed`` and different ``cell_seed`` are two datasets in one embedding space
    (same atoms, same offset).
    """
    rng = np.random.default_rng(seed)
    atoms = rng.normal(size=(n_atoms, dim))
    atoms /= np.linalg.norm(atoms, axis=1, keepdims=True)
    cells = rng if cell_seed is None else np.random.default_rng([seed, cell_seed])
    labels = cells.integers(n_atoms, size=n_cells)
    codes = np.zeros((n_cells, n_atoms))
    codes[np.arange(n_cells), labels] = cells.uniform(1, 3, size=n_cells)
    jitter = noise * cells.normal(size=(n_cells, dim))
    embeddings = codes @ atoms + jitter + offset * rng.normal(size=dim)
    return embeddings.astype(np.float32), atoms, np.array([f"type{t}" for t in labels])


def toy_cells(embeddings: np.ndarray, labels: np.ndarray) -> ad.AnnData:
    """Cells holding ``embeddings`` in ``obsm["X_toy"]`` and ``labels`` as ``obs["cell_type"]``."""
    cells = ad.AnnData(np.zeros((len(labels), 1), dtype=np.float32))
    cells.obs_names = [f"cell{i}" for i in range(len(labels))]
    cells.obs["cell_type"] = pd.Categorical(labels)
    cells.obsm["X_toy"] = embeddings
    return cells


def program_counts(
    rng: np.random.Generator, *, n_programs: int, program_size: int, n_genes: int, cells_per_group: int
) -> ad.AnnData:
    """Poisson counts of ``n_programs`` groups of cells: group p expresses genes ``p * program_size`` onwards
    (``program_size`` of them) at rate 10, every other gene at rate 1; genes ``G0..``, ``obs["cell_type"]``."""
    group = np.repeat(np.arange(n_programs), cells_per_group)
    rate = np.full((group.size, n_genes), 1.0)
    for p in range(n_programs):
        rate[group == p, p * program_size : (p + 1) * program_size] = 10.0
    adata = ad.AnnData(sp.csr_matrix(rng.poisson(rate).astype(np.float32)))
    adata.var_names = [f"G{g}" for g in range(n_genes)]
    adata.obs_names = [f"cell{i}" for i in range(group.size)]
    adata.obs["cell_type"] = pd.Categorical([f"type{p}" for p in group])
    return adata
