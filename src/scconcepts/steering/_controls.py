"""Controls of a steering toward a target, each with the same per-cell norm of change as the real one.

* ``sign_flipped``: the same concepts moved the other way (the negated change);
* ``random_concepts``: as many concepts as were steered, drawn among the others, each cell's activations on
  them changed by independent standard normal amounts, the change scaled to the cell's real norm;
* ``random_directions``: one random direction of the embedding per draw, scaled to each cell's real norm;
* ``centroid``: the direction from the source's mean embedding to the target's, scaled to each cell's real
  norm; no concepts at all, an upper bound for a move of that size.
"""

from __future__ import annotations

import numpy as np

from scconcepts.stats import random_directions

CONTROLS = ("sign_flipped", "random_concepts", "random_directions", "centroid")


def norm_matched(change: np.ndarray, norms: np.ndarray) -> np.ndarray:
    """Rows of ``change`` scaled to ``norms`` (a zero row stays zero)."""
    length = np.linalg.norm(change, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(length > 1e-12, norms / length, 0.0)
    return change * factor[:, None]


def random_concept_changes(
    atoms: np.ndarray, chosen: np.ndarray, norms: np.ndarray, *, n_draws: int, seed: int
) -> list[np.ndarray]:
    """``n_draws`` changes through random concepts (as many as ``chosen``, none of them), norm-matched."""
    rng = np.random.default_rng(seed)
    others = np.setdiff1d(np.arange(atoms.shape[0]), chosen)
    if others.size == 0:
        return []
    size = min(len(chosen), others.size)
    draws = []
    for _ in range(n_draws):
        picked = rng.choice(others, size=size, replace=False)
        amounts = rng.standard_normal((len(norms), size))
        draws.append(norm_matched(amounts @ atoms[picked], norms))
    return draws


def control_changes(
    change: np.ndarray,
    atoms: np.ndarray,
    chosen: np.ndarray,
    centroid_shift: np.ndarray,
    *,
    n_draws: int,
    seed: int,
) -> dict[str, list[np.ndarray]]:
    """Every control's changes (one array of cells x dim per draw), keyed by :data:`CONTROLS`.

    Parameters
    ----------
    change
        The real change of the source cells' embeddings (cells x dim).
    atoms
        Embedding-space move of one unit of each concept (concepts x dim).
    chosen
        The steered concepts.
    centroid_shift
        Target mean embedding minus source mean embedding.
    n_draws
        Draws of the random controls.
    seed
        Seed of the random controls.

    """
    norms = np.linalg.norm(change, axis=1)
    centroid = np.broadcast_to(np.asarray(centroid_shift, dtype=np.float64), change.shape)
    return {
        "sign_flipped": [-change],
        "random_concepts": random_concept_changes(atoms, chosen, norms, n_draws=n_draws, seed=seed),
        "random_directions": list(random_directions(change, n_draws, seed=seed + 1)),
        "centroid": [norm_matched(centroid, norms)],
    }
