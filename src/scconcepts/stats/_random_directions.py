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


def random_directions(shift: np.ndarray, n: int, *, seed: int = 0) -> np.ndarray:
    """Random shifts with the per-row norms of ``shift``: ``n x rows x dim``.

    Each draw uses one random unit direction (:func:`random_unit_atoms`) for every row, scaled to each
    row's norm in ``shift``: the same amount of change as the real one, in a direction that means nothing.

    Parameters
    ----------
    shift
        Rows x dim real change (e.g. a steered minus the original embedding).
    n
        Number of random draws.
    seed
        Seed of the generator.

    """
    shift = np.asarray(shift, dtype=np.float64)
    directions = random_unit_atoms(n, shift.shape[1], seed=seed)
    norms = np.linalg.norm(shift, axis=1)
    return norms[None, :, None] * directions[:, None, :]
