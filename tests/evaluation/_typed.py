"""Synthetic embeddings whose cell types are tied to planted atoms: each cell is one atom of its type."""

from __future__ import annotations

import numpy as np


def typed_embeddings(
    n_cells: int = 1500, dim: int = 16, n_atoms: int = 16, noise: float = 0.02, offset: float = 5.0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (embeddings, atoms, labels): cell i is atom ``labels[i]`` times a magnitude in [1, 3], plus noise."""
    rng = np.random.default_rng(seed)
    atoms = rng.normal(size=(n_atoms, dim))
    atoms /= np.linalg.norm(atoms, axis=1, keepdims=True)
    labels = rng.integers(n_atoms, size=n_cells)
    codes = np.zeros((n_cells, n_atoms))
    codes[np.arange(n_cells), labels] = rng.uniform(1, 3, size=n_cells)
    embeddings = codes @ atoms + noise * rng.normal(size=(n_cells, dim)) + offset * rng.normal(size=dim)
    return embeddings.astype(np.float32), atoms, np.array([f"type{t}" for t in labels])
