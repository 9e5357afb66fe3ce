"""Synthetic embeddings with a known dictionary: sparse non-negative codes x atoms + noise + a large offset."""

from __future__ import annotations

import numpy as np


def planted_embeddings(
    n_cells: int = 20_000,
    dim: int = 32,
    n_atoms: int = 64,
    active: int = 3,
    noise: float = 0.05,
    offset: float = 20.0,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Return (embeddings, atoms); each cell mixes ``active`` random atoms with magnitudes in [1, 3]."""
    rng = np.random.default_rng(seed)
    atoms = rng.normal(size=(n_atoms, dim))
    atoms /= np.linalg.norm(atoms, axis=1, keepdims=True)
    codes = np.zeros((n_cells, n_atoms))
    chosen = np.argsort(rng.random((n_cells, n_atoms)), axis=1)[:, :active]
    np.put_along_axis(codes, chosen, rng.uniform(1, 3, size=(n_cells, active)), axis=1)
    embeddings = codes @ atoms + noise * rng.normal(size=(n_cells, dim)) + offset * rng.normal(size=dim)
    return embeddings.astype(np.float32), atoms


def recovered_share(decoder: np.ndarray, atoms: np.ndarray, threshold: float = 0.9) -> float:
    """Share of true atoms whose best-matching decoder row has cosine above ``threshold``."""
    decoder = decoder / np.linalg.norm(decoder, axis=1, keepdims=True)
    return float(((atoms @ decoder.T).max(axis=1) > threshold).mean())
