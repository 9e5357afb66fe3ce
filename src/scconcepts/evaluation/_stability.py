"""Stability: match decoder atoms of two runs one-to-one (Hungarian algorithm on |cosine|).

Runs are compared across seeds on one dataset (:func:`stability`) or, across two datasets embedded by the same
model (:func:`cross_dataset_stability`).
"""

from __future__ import annotations

import itertools

import numpy as np

#: Matched atoms with |cosine| above this count as reproduced.
REPRODUCED = 0.9


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float64)
    return matrix / np.clip(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12, None)


def match_atoms(first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best one-to-one matching of the rows of two decoders by absolute cosine.

    Returns
    -------
    ``(rows, cols, cosines)``: matched row indices of ``first`` and ``second`` and their |cosine|;
    ``min(len(first), len(second))`` pairs.

    """
    from scipy.optimize import linear_sum_assignment

    similarity = np.abs(_unit_rows(first) @ _unit_rows(second).T)
    rows, cols = linear_sum_assignment(similarity, maximize=True)
    return rows, cols, similarity[rows, cols]


def pair_stability(first: np.ndarray, second: np.ndarray, *, threshold: float = REPRODUCED) -> dict[str, float]:
    """Mean matched |cosine| of two decoders and the share of atoms reproduced above ``threshold``."""
    cosines = match_atoms(first, second)[2]
    return {"matched_cosine": float(cosines.mean()), "reproduced": float((cosines > threshold).mean())}


def _spread(pairs: list[dict[str, float]]) -> dict[str, float]:
    if not pairs:
        nan = float("nan")
        return {
            "matched_cosine": nan,
            "matched_cosine_std": nan,
            "reproduced": nan,
            "reproduced_std": nan,
            "n_pairs": 0,
        }
    out: dict[str, float] = {}
    for name in ("matched_cosine", "reproduced"):
        values = np.array([pair[name] for pair in pairs])
        out[name], out[f"{name}_std"] = float(values.mean()), float(values.std())
    out["n_pairs"] = len(pairs)
    return out


def stability(decoders: list[np.ndarray], *, threshold: float = REPRODUCED) -> dict[str, float]:
    """Stability over every pair of runs: mean and standard deviation over pairs of each pair measure.

    Returns
    -------
    ``matched_cosine`` / ``matched_cosine_std`` and ``reproduced`` / ``reproduced_std`` (share of
    atoms matched at |cosine| > ``threshold``), and ``n_pairs``; NaN with fewer than two runs.

    """
    return _spread([pair_stability(a, b, threshold=threshold) for a, b in itertools.combinations(decoders, 2)])


def cross_dataset_stability(
    first: list[np.ndarray], second: list[np.ndarray], *, threshold: float = REPRODUCED
) -> dict[str, float]:
    """Stability of runs trained apart on two datasets: every run of one matched with every run of the other.

    Both lists hold decoders in the same embedding space (the two datasets embedded by one model).
    The runs should not share seeds, or a shared initialisation could pass for a reproduced atom.
    Returns the measures of :func:`stability` over the ``len(first) * len(second)`` pairs.

    """
    return _spread([pair_stability(a, b, threshold=threshold) for a, b in itertools.product(first, second)])


def stability_chance(
    n_atoms: int, dim: int, *, n_pairs: int = 5, threshold: float = REPRODUCED, seed: int = 0
) -> dict[str, float]:
    """Stability of random dictionaries: pairs of ``n_atoms`` random unit atoms in ``dim`` dimensions, matched.

    The chance level of :func:`stability` for a dictionary of that count and dimension
    (:func:`scconcepts.stats.random_unit_atoms`); in few dimensions random atoms match well
    (40 atoms in 10-d: about 0.65), so a learned dictionary's matched cosine means little until it
    clears this.

    Returns
    -------
    The measures of :func:`stability` over ``n_pairs`` independent pairs of random dictionaries.

    """
    from scconcepts.stats import random_unit_atoms

    rng = np.random.default_rng(seed)
    pairs = [
        pair_stability(
            random_unit_atoms(n_atoms, dim, seed=rng), random_unit_atoms(n_atoms, dim, seed=rng), threshold=threshold
        )
        for _ in range(n_pairs)
    ]
    return _spread(pairs)
