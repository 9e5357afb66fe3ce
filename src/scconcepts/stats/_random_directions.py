"""Random null objects of a given shape: unit atoms (directions) in an embedding, gene sets of a given size."""

from __future__ import annotations

import numpy as np


def random_unit_atoms(n_atoms: int, dim: int, *, seed: int | np.random.Generator = 0) -> np.ndarray:
    """``n_atoms`` x ``dim`` rows drawn uniformly on the unit sphere (normalised Gaussian vectors).

    The null of a learned dictionary: same count and dimension, no structure. Matching two such
    draws gives the chance level of decoder stability; using them as components gives the chance
    level of any per-component measure (e.g. grounding).
    """
    rng = np.random.default_rng(seed)
    atoms = rng.standard_normal((int(n_atoms), int(dim)))
    return atoms / np.clip(np.linalg.norm(atoms, axis=1, keepdims=True), 1e-12, None)


def random_gene_sets(
    sizes: list[int] | np.ndarray, pool: np.ndarray, *, n_sets: int = 1, seed: int | np.random.Generator = 0
) -> list[list[np.ndarray]]:
    """Per requested size, ``n_sets`` gene sets drawn without replacement from ``pool`` (indices or names).

    Returns
    -------
    ``sets[i][r]``: the ``r``-th random set of size ``sizes[i]`` (capped at the pool's size).

    """
    rng = np.random.default_rng(seed)
    pool = np.asarray(pool)
    return [[rng.choice(pool, size=min(int(size), len(pool)), replace=False) for _ in range(n_sets)] for size in sizes]
