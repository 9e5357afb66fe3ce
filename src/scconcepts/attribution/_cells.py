"""Which cells are perturbed for each concept, and each one's counterfactual neighbour."""

from __future__ import annotations

import logging

import numpy as np
import scipy.sparse as sp

logger = logging.getLogger(__name__)

#: How many nearest cells are searched first for a non-activating neighbour before a full scan.
_NEAREST_FIRST = 64
#: Cells per block when :func:`inactive_means` sums expression in float64.
_MEAN_ROWS = 65_536
#: Bytes of float64 distances (and rows) held at once by the full scan for a non-activating neighbour.
_BLOCK_BYTES = 64 * 2**20


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

    The :data:`_NEAREST_FIRST` nearest cells of every chosen cell come from one index
    (:class:`sklearn.neighbors.NearestNeighbors`: a k-d tree for embeddings of up to 15 dimensions,
    else a chunked exact search), so memory grows with the chosen cells, not with chosen x all cells.
    A cell whose nearest cells all activate the concept is compared with every cell in blocks of
    :data:`_BLOCK_BYTES` (:func:`_nearest_inactive`). Cells with no non-activating cell at all (a
    concept active everywhere) get ``-1``.
    """
    columns = sp.csc_matrix(activations)
    emb = _float_rows(embedding)
    n = emb.shape[0]
    all_cells = np.unique(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=np.int64)
    nearest = _nearest_others(emb, all_cells, min(_NEAREST_FIRST, n - 1))
    active = np.zeros(n, dtype=bool)
    result = []
    for concept, cells in zip(concepts, chosen, strict=True):
        start, stop = columns.indptr[concept], columns.indptr[concept + 1]
        on = columns.indices[start:stop][columns.data[start:stop] > 0]
        active[on] = True
        near = nearest[np.searchsorted(all_cells, cells)]
        inactive = ~active[near]
        found = np.flatnonzero(inactive.any(axis=1))
        neighbours = np.full(cells.size, -1, dtype=np.int64)
        if found.size:  # the first non-activating cell in each list, the lists being nearest first
            neighbours[found] = near[found, inactive[found].argmax(axis=1)]
        missing = np.flatnonzero(neighbours < 0)
        if missing.size and on.size < n:
            neighbours[missing] = _nearest_inactive(emb, cells[missing], active)
        active[on] = False
        result.append(neighbours)
    return result


def _float_rows(embedding: np.ndarray) -> np.ndarray:
    """The embedding as C-ordered float32 or float64 rows, copied only when it is neither."""
    emb = np.asarray(embedding)
    if emb.dtype not in (np.float32, np.float64):
        emb = emb.astype(np.float64)
    return np.ascontiguousarray(emb)


def _nearest_others(emb: np.ndarray, cells: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` nearest other cells of each of ``cells`` (rows, nearest first), from one neighbour index."""
    from sklearn.neighbors import NearestNeighbors

    if cells.size == 0 or k < 1:
        return np.zeros((cells.size, max(k, 0)), dtype=np.int64)
    index = NearestNeighbors(n_neighbors=k + 1).fit(emb)
    logger.info("counterfactual neighbours: %d cells, %d nearest each (%s search)", cells.size, k, index._fit_method)
    found = index.kneighbors(emb[cells], return_distance=False)
    is_self = found == cells[:, None]
    # drop each cell itself; a cell with an exact duplicate may not list itself first, then drop the farthest
    drop = np.where(is_self.any(axis=1), is_self.argmax(axis=1), k)
    keep = np.ones(found.shape, dtype=bool)
    keep[np.arange(cells.size), drop] = False
    return found[keep].reshape(cells.size, k).astype(np.int64)


def _nearest_inactive(emb: np.ndarray, cells: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Each of ``cells``' nearest cell among those not ``active``, by a scan over all cells in bounded blocks."""
    queries = emb[cells].astype(np.float64)
    query_sq = (queries**2).sum(axis=1)
    best = np.full(cells.size, np.inf)
    best_cell = np.full(cells.size, -1, dtype=np.int64)
    block = max(1, _BLOCK_BYTES // (8 * (cells.size + emb.shape[1])))
    for start in range(0, emb.shape[0], block):
        rows = emb[start : start + block].astype(np.float64)
        dist = query_sq[:, None] + (rows**2).sum(axis=1)[None, :] - 2 * queries @ rows.T
        dist[:, active[start : start + block]] = np.inf
        where = dist.argmin(axis=1)
        value = dist[np.arange(cells.size), where]
        better = value < best
        best[better], best_cell[better] = value[better], start + where[better]
    return best_cell


def inactive_means(x: sp.csr_matrix, activations: sp.csr_matrix, concepts: np.ndarray) -> np.ndarray:
    """Return, per concept, the mean of ``x`` (cells x genes) over the cells that do not activate it.

    A concept active in every cell gets the mean over all cells.
    """
    active = sp.csr_matrix((sp.csc_matrix(activations)[:, concepts] > 0).astype(np.float64))
    n = x.shape[0]
    n_active = np.asarray(active.sum(axis=0)).ravel()
    totals = np.asarray(x.sum(axis=0)).ravel()
    active_sums = np.zeros((len(concepts), x.shape[1]))
    for start in range(0, n, _MEAN_ROWS):  # float64 sums without a float64 copy of every cell's expression
        rows = slice(start, start + _MEAN_ROWS)
        active_sums += (active[rows].T @ sp.csr_matrix(x[rows], dtype=np.float64)).toarray()
    n_inactive = n - n_active
    means = (totals[None, :] - active_sums) / np.maximum(n_inactive, 1)[:, None]
    everywhere = n_inactive == 0
    means[everywhere] = totals / max(n, 1)
    return means.astype(np.float32)
