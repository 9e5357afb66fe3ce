"""Redundant concepts: two concepts whose gene attributions point the same way explain the same thing."""

from __future__ import annotations

import numpy as np
from anndata import AnnData

from scconcepts._keys import DEFAULT_KEY, activations_key, attribution_key

#: Cosine similarity of attribution profiles at or above which the rarer concept duplicates the other.
DUPLICATE_COSINE = 0.8


def profile_redundancy(
    adata: AnnData, key: str = DEFAULT_KEY, *, threshold: float = DUPLICATE_COSINE
) -> tuple[np.ndarray, np.ndarray]:
    """Return each concept's redundancy and the concept it duplicates (-1 for none).

    Redundancy is the largest cosine similarity between the concept's attribution profile
    (``varm["<key>_attribution"]`` over genes) and another concept's; two independent profiles over
    G genes sit near 0 (about 1/sqrt(G)). A concept duplicates the other concept of a pair at or above
    ``threshold`` when it fires in fewer cells (or, equally often, has the larger id).

    Returns
    -------
    ``(redundancy, duplicate_of)``: arrays over concepts; NaN / -1 where the concept has no attribution.

    """
    a_key = attribution_key(key)
    if a_key not in adata.varm:
        return np.array([]), np.array([], dtype=int)
    scores = np.nan_to_num(np.asarray(adata.varm[a_key], dtype=np.float64))
    n = scores.shape[1]
    norms = np.linalg.norm(scores, axis=0)
    alive = norms > 0
    unit = np.divide(scores, norms, out=np.zeros_like(scores), where=alive)
    cosine = unit.T @ unit
    np.fill_diagonal(cosine, -np.inf)
    cosine[:, ~alive] = -np.inf
    redundancy = np.where(alive & (alive.sum() > 1), cosine.max(axis=1, initial=-np.inf), np.nan)
    a_key_cells = activations_key(key)
    if a_key_cells in adata.obsm:
        fired = np.asarray((adata.obsm[a_key_cells] != 0).sum(axis=0)).ravel().astype(np.float64)
    else:
        fired = np.zeros(n)
    duplicate = np.full(n, -1, dtype=int)
    for c in np.flatnonzero(alive):
        others = np.flatnonzero(cosine[c] >= threshold)
        # the pair's representative: fires in more cells, then the smaller id
        better = [o for o in others if (fired[o], -o) > (fired[c], -c)]
        if better:
            duplicate[c] = max(better, key=lambda o: cosine[c, o])
    return redundancy, duplicate
