"""Synthetic embeddings whose cell types are tied to planted atoms: each cell is one atom of its type."""

from __future__ import annotations

import numpy as np


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
