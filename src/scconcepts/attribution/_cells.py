"""Which cells are perturbed for each concept, and each one's counterfactual neighbour."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

#: How many nearest cells are searched first for a non-activating neighbour before a full scan.
_NEAREST_FIRST = 64


def select_cells(
    activations: sp.csr_matrix, concepts: np.ndarray, *, n_cells: int, how: str = "top", seed: int = 0
) -> list[np.ndarray]:
    """Return, per concept, the indices of the cells to perturb.

    Parameters
    ----------
    activations
        Cells x concepts activations (a concept is active in a cell where its value is > 0).
    concepts
        Concept indices (columns of ``activations``) to select cells for.
    n_cells
        At most this many cells per concept; fewer when fewer cells activate the concept.
    how
        ``"top"``: the ``n_cells`` most strongly activating cells; ``"random"``: a uniform sample of the
        activating cells (seeded by ``seed``).
    seed
        Seed of the random sample.

    Returns
    -------
    One array of cell indices per concept, sorted by decreasing activation.

    """
    columns = sp.csc_matrix(activations)
    rng = np.random.default_rng(seed)
    chosen = []
    for concept in concepts:
        start, stop = columns.indptr[concept], columns.indptr[concept + 1]
        cells, values = columns.indices[start:stop], columns.data[start:stop]
        cells, values = cells[values > 0], values[values > 0]
        if how == "random" and cells.size > n_cells:
            keep = rng.choice(cells.size, size=n_cells, replace=False)
            cells, values = cells[keep], values[keep]
        order = np.argsort(-values, kind="stable")[:n_cells]
        chosen.append(cells[order].astype(np.int64))
    return chosen


def counterfactual_neighbours(
    embedding: np.ndarray, activations: sp.csr_matrix, concepts: np.ndarray, chosen: list[np.ndarray]
) -> list[np.ndarray]:
    """Return, per concept, each chosen cell's nearest cell (Euclidean, in ``embedding``) not activating it.

    Cells with no non-activating cell at all (a concept active everywhere) get ``-1``.
    """
    columns = sp.csc_matrix(activations)
    n = embedding.shape[0]
    emb = np.asarray(embedding, dtype=np.float64)
    sq = (emb**2).sum(axis=1)
    all_cells = np.unique(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=np.int64)
    k = min(_NEAREST_FIRST, n)
    ordered: dict[int, np.ndarray] = {}
    for start in range(0, all_cells.size, 512):
        cells = all_cells[start : start + 512]
        dist = sq[cells, None] + sq[None, :] - 2 * emb[cells] @ emb.T
        dist[np.arange(cells.size), cells] = np.inf  # a cell is not its own counterfactual
        nearest = np.argpartition(dist, k - 1, axis=1)[:, :k] if k < n else np.tile(np.arange(n), (cells.size, 1))
        for row, cell in enumerate(cells):
            near = nearest[row][np.argsort(dist[row, nearest[row]], kind="stable")]
            ordered[int(cell)] = near
    result = []
    for concept, cells in zip(concepts, chosen, strict=True):
        active = np.zeros(n, dtype=bool)
        start, stop = columns.indptr[concept], columns.indptr[concept + 1]
        active[columns.indices[start:stop][columns.data[start:stop] > 0]] = True
        neighbours = np.full(cells.size, -1, dtype=np.int64)
        for i, cell in enumerate(cells):
            near = ordered[int(cell)]
            inactive = near[~active[near]]
            if inactive.size:
                neighbours[i] = inactive[0]
            elif not active.all():
                dist = sq + sq[cell] - 2 * emb @ emb[cell]
                dist[active] = np.inf
                neighbours[i] = int(np.argmin(dist))
        result.append(neighbours)
    return result


def inactive_means(x: sp.csr_matrix, activations: sp.csr_matrix, concepts: np.ndarray) -> np.ndarray:
    """Return, per concept, the mean of ``x`` (cells x genes) over the cells that do not activate it.

    A concept active in every cell gets the mean over all cells.
    """
    active = (sp.csc_matrix(activations)[:, concepts] > 0).astype(np.float64)
    n = x.shape[0]
    n_active = np.asarray(active.sum(axis=0)).ravel()
    totals = np.asarray(x.sum(axis=0)).ravel()
    active_sums = np.asarray((active.T @ sp.csr_matrix(x, dtype=np.float64)).todense())
    n_inactive = n - n_active
    means = (totals[None, :] - active_sums) / np.maximum(n_inactive, 1)[:, None]
    everywhere = n_inactive == 0
    means[everywhere] = totals / max(n, 1)
    return means.astype(np.float32)
