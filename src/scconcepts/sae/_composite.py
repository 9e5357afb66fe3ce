"""Composite atoms: a decoder atom that is (nearly) a non-negative mix of two other atoms of the dictionary.

A Top-K SAE with a small ``k`` can learn an atom for cells where two concepts co-occur ("B cell + NK") beside
atoms for each; the mixed atom then steals those cells from both. It is found by fitting each unit atom with
non-negative least squares on every pair among its most similar atoms: composite when the fit reaches
``cosine`` and both parts carry weight (a near-duplicate of a single atom is not composite).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy.optimize import nnls

#: A fit at least this close (cosine between the atom and its two-atom fit) makes the atom composite.
COMPOSITE_COSINE = 0.95
#: Each part must carry at least this share of the fit's weight.
MIN_PART = 0.25
#: Pairs are sought among this many most similar atoms.
CANDIDATES = 16


@dataclass
class Composites:
    """Per atom: whether it is composite, its two parts (-1 if none) and the fit's cosine."""

    composite: np.ndarray
    parts: np.ndarray
    fit_cosine: np.ndarray


def find_composites(
    atoms: np.ndarray,
    *,
    parts: np.ndarray | None = None,
    cosine: float = COMPOSITE_COSINE,
    min_part: float = MIN_PART,
    candidates: int = CANDIDATES,
) -> Composites:
    """Flag atoms (rows) that are close to a non-negative combination of two other atoms.

    Parameters
    ----------
    atoms
        Atoms x dims (normalised to unit rows here).
    parts
        Extra candidate parts (e.g. the directions that recur across seeds, when one run's dictionary has
        no clean atom for a part); indices in :attr:`Composites.parts` past ``len(atoms)`` point into them.
    cosine
        Smallest cosine between an atom and its best two-atom non-negative fit to call it composite.
    min_part
        Smallest share of the fit's weight each part must carry.
    candidates
        Parts are sought among this many atoms most similar to the atom.

    """
    unit = _unit(atoms)
    n_atoms = len(unit)
    pool_atoms = unit if parts is None else np.vstack([unit, _unit(parts)])
    similarity = unit @ pool_atoms.T
    similarity[np.arange(n_atoms), np.arange(n_atoms)] = -np.inf
    similarity[similarity > cosine] = -np.inf  # the atom's own duplicates are not parts
    composite = np.zeros(n_atoms, dtype=bool)
    found = np.full((n_atoms, 2), -1, dtype=np.int64)
    fit_cosine = np.zeros(n_atoms)
    for i in range(n_atoms):
        pool = np.argsort(-similarity[i])[: min(candidates, len(pool_atoms) - 1)]
        for a, b in itertools.combinations(pool, 2):
            weights, _ = nnls(pool_atoms[[a, b]].T, unit[i])
            fit = weights @ pool_atoms[[a, b]]
            norm = float(np.linalg.norm(fit))
            if norm < 1e-12:
                continue
            fit_cos = float(fit @ unit[i]) / norm
            share = weights.min() / max(weights.sum(), 1e-12)
            if share >= min_part and fit_cos > fit_cosine[i]:
                fit_cosine[i], found[i] = fit_cos, (a, b)
        composite[i] = fit_cosine[i] >= cosine
    found[~composite] = -1
    return Composites(composite, found, fit_cosine)


def _unit(atoms: np.ndarray) -> np.ndarray:
    atoms = np.asarray(atoms, dtype=np.float64)
    return atoms / np.clip(np.linalg.norm(atoms, axis=1, keepdims=True), 1e-12, None)
