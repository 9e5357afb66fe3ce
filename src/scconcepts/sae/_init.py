"""Data-driven starting atoms for an SAE: spherical k-means directions of the centred training cells."""

from __future__ import annotations

from typing import Any

import numpy as np

#: At most this many training cells are clustered (a random sample above it).
MAX_CELLS = 50_000


def kmeans_atoms(
    data: Any, rows: np.ndarray, mean: np.ndarray, scale: float, bias: np.ndarray, n_atoms: int, *, seed: int = 0
) -> np.ndarray:
    """Unit directions of ``n_atoms`` spherical k-means (k-means++ start) clusters of the normalised cells.

    Cells are normalised as the SAE sees them (``(x - mean) / scale``), measured from the decoder bias and
    scaled to unit length, so the clusters group cells by direction from the bias, which is what a decoder
    atom is. When there are fewer distinct directions than atoms, the remaining atoms are random.

    Parameters
    ----------
    data
        Cells x dims embedding.
    rows
        Training rows to cluster (at most 50,000 sampled).
    mean, scale
        The SAE's normaliser.
    bias
        Starting decoder bias in the normalised space.
    n_atoms
        Atoms to return.
    seed
        Seed of the sample and of k-means++.

    Returns
    -------
    ``n_atoms x dims`` unit rows.

    """
    from sklearn.cluster import KMeans

    rng = np.random.default_rng(seed)
    if len(rows) > MAX_CELLS:
        rows = np.sort(rng.choice(rows, MAX_CELLS, replace=False))
    x = (np.asarray(data[rows], dtype=np.float64) - mean) / scale - bias
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    x = x[norms[:, 0] > 1e-8] / norms[norms[:, 0] > 1e-8]
    n_clusters = min(n_atoms, len(np.unique(np.round(x, 6), axis=0)))
    atoms = rng.normal(size=(n_atoms, x.shape[1]))
    if n_clusters >= 1:
        model = KMeans(n_clusters=n_clusters, n_init=3, random_state=seed).fit(x)
        atoms[:n_clusters] = model.cluster_centers_
    return (atoms / np.clip(np.linalg.norm(atoms, axis=1, keepdims=True), 1e-12, None)).astype(np.float32)
