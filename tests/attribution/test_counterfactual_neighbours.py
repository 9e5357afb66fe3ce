"""The indexed counterfactual-neighbour search finds the same cells as a brute-force scan over all pairs."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from scconcepts.attribution import _cells, counterfactual_neighbours


def brute_force(embedding: np.ndarray, activations: sp.csr_matrix, chosen: list[np.ndarray]) -> list[np.ndarray]:
    """Every chosen cell's nearest non-activating cell from the full cells x cells distances (the old method)."""
    emb = embedding.astype(np.float64)
    dist = ((emb[:, None, :] - emb[None, :, :]) ** 2).sum(axis=2)
    dense = activations.toarray() > 0
    out = []
    for concept, cells in enumerate(chosen):
        masked = np.where(dense[:, concept][None, :], np.inf, dist[cells])
        best = masked.argmin(axis=1)
        out.append(np.where(np.isfinite(masked[np.arange(cells.size), best]), best, -1))
    return out


def planted_cells(dim: int, seed: int = 0) -> tuple[np.ndarray, sp.csr_matrix, list[np.ndarray]]:
    """Three clusters; concepts active on a few cells, on a whole cluster (forcing the full scan), everywhere."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=6.0, size=(3, dim))
    cluster = np.repeat(np.arange(3), [200, 120, 80])
    embedding = (centres[cluster] + rng.normal(size=(cluster.size, dim))).astype(np.float32)
    n = cluster.size
    columns = [
        rng.random(n) < 0.1,  # scattered: the nearest cells hold a non-activating one
        cluster == 0,  # a whole cluster of 200 cells: its 64 nearest all activate it
        cluster != 2,  # all but the smallest cluster
        np.ones(n, dtype=bool),  # everywhere: no counterfactual
    ]
    values = np.column_stack([c * rng.uniform(0.5, 2.0, n) for c in columns])
    activations = sp.csr_matrix(values.astype(np.float32))
    chosen = [np.flatnonzero(c)[:40] for c in columns]
    return embedding, activations, chosen


@pytest.mark.parametrize("dim", [8, 32])  # a k-d tree (<= 15 dimensions) and the chunked exact search
def test_neighbours_equal_brute_force(dim):
    embedding, activations, chosen = planted_cells(dim)
    found = counterfactual_neighbours(embedding, activations, np.arange(4), chosen)
    expected = brute_force(embedding, activations, chosen)
    for concept in range(4):
        np.testing.assert_array_equal(found[concept], expected[concept])
    assert (found[3] == -1).all()
    assert (found[1] >= 200).all()  # the cluster-wide concept's neighbours come from the full scan


def test_small_blocks_give_the_same_scan(monkeypatch):
    embedding, activations, chosen = planted_cells(8, seed=1)
    whole = counterfactual_neighbours(embedding, activations, np.arange(4), chosen)
    monkeypatch.setattr(_cells, "_BLOCK_BYTES", 8 * 64 * 50)  # a few rows per block
    blocked = counterfactual_neighbours(embedding, activations, np.arange(4), chosen)
    for a, b in zip(whole, blocked, strict=True):
        np.testing.assert_array_equal(a, b)


def test_duplicate_cells_and_tiny_data():
    embedding = np.array([[0.0, 0.0], [0.0, 0.0], [5.0, 5.0]])
    activations = sp.csr_matrix(np.array([[1.0], [0.0], [0.0]]))
    assert counterfactual_neighbours(embedding, activations, np.array([0]), [np.array([0])])[0].tolist() == [1]
    one = counterfactual_neighbours(np.zeros((1, 2)), sp.csr_matrix(np.ones((1, 1))), np.array([0]), [np.array([0])])
    assert one[0].tolist() == [-1]
