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


def planted_programs(
    n_cells: int = 4_000,
    dim: int = 4,
    n_programs: int = 4,
    rate: float = 0.3,
    noise: float = 0.05,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Independent programs that overlap in cells: each fires in a share ``rate`` of cells, whatever the others do.

    Returns ``(embeddings, activity, directions)``: cells x dims, cells x programs (0 where off, else in
    [1, 3]) and programs x dims unit directions.
    """
    rng = np.random.default_rng(seed)
    directions = rng.normal(size=(n_programs, dim))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    activity = (rng.random((n_cells, n_programs)) < rate) * rng.uniform(1, 3, size=(n_cells, n_programs))
    embeddings = activity @ directions + noise * rng.normal(size=(n_cells, dim)) + 5.0 * rng.normal(size=dim)
    return embeddings.astype(np.float32), activity, directions
