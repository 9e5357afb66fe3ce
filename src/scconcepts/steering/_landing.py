"""Where steered cells land: their neighbours' cell types in the embedding, and a kNN placement on the map."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.neighbors import NearestNeighbors


@dataclass
class Landing:
    """Nearest cell types and map positions of steered cells.

    Attributes
    ----------
    shares
        Per cell type: share of the chosen cells' neighbours of that type before and after steering
        (``share_original``, ``share_steered``) and after a random shift of the same size (``share_null``).
    landed
        Majority type of each chosen cell's neighbours after steering.
    umap_original, umap_steered
        2-D positions of the chosen cells before and after (``None`` without a map): the original position
        moved by the change of its kNN placement (mean map position of its embedding neighbours).

    """

    shares: pd.DataFrame
    landed: np.ndarray
    umap_original: np.ndarray | None
    umap_steered: np.ndarray | None


class Neighbourhood:
    """kNN of points among the cells of a reference embedding (the cell itself excluded)."""

    def __init__(self, embedding: np.ndarray, *, n_neighbors: int = 15) -> None:
        self.k = int(min(n_neighbors, max(1, embedding.shape[0] - 1)))
        self.index = NearestNeighbors(n_neighbors=self.k + 1).fit(np.asarray(embedding, dtype=np.float32))

    def query(self, points: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Neighbour rows of ``points`` (which belong to cells ``rows``), never the cell itself: rows x k."""
        idx = self.index.kneighbors(np.asarray(points, dtype=np.float32), return_distance=False)
        keep = idx != rows[:, None]
        out = np.empty((idx.shape[0], self.k), dtype=np.int64)
        for i in range(idx.shape[0]):
            out[i] = idx[i][keep[i]][: self.k]
        return out


def _shares(neighbours: np.ndarray, codes: np.ndarray, n_types: int) -> np.ndarray:
    return np.bincount(codes[neighbours].ravel(), minlength=n_types) / max(neighbours.size, 1)


def land(
    embedding: np.ndarray,
    rows: np.ndarray,
    steered: np.ndarray,
    null: list[np.ndarray],
    *,
    labels: pd.Series | None,
    umap: np.ndarray | None,
    n_neighbors: int = 15,
) -> Landing:
    """Compare the chosen cells' neighbourhoods before and after steering (and after null shifts).

    Parameters
    ----------
    embedding
        Every cell's original embedding (the reference the neighbours come from).
    rows
        Chosen cells.
    steered
        Their steered embeddings.
    null
        Their embeddings after random shifts of the same size (one array per draw).
    labels
        Cell types of every cell (``None``: no shares).
    umap
        Every cell's 2-D map position (``None``: no placement).
    n_neighbors
        Neighbours per cell.

    """
    hood = Neighbourhood(embedding, n_neighbors=n_neighbors)
    before = hood.query(embedding[rows], rows)
    after = hood.query(steered, rows)
    if labels is not None:
        cats = pd.Categorical(labels.astype(str))
        codes, names = np.asarray(cats.codes), list(cats.categories)
        null_shares = (
            np.mean([_shares(hood.query(p, rows), codes, len(names)) for p in null], axis=0)
            if null
            else (np.full(len(names), np.nan))
        )
        shares = pd.DataFrame(
            {
                "cell_type": names,
                "share_original": _shares(before, codes, len(names)),
                "share_steered": _shares(after, codes, len(names)),
                "share_null": null_shares,
            }
        )
        counts = (
            np.stack([np.bincount(codes[n], minlength=len(names)) for n in after])
            if len(rows)
            else (np.zeros((0, len(names)), dtype=int))
        )
        landed = np.asarray(names, dtype=object)[counts.argmax(axis=1)] if len(rows) else np.array([], dtype=object)
        shares = shares.sort_values("share_original", ascending=False, kind="stable", ignore_index=True)
    else:
        shares = pd.DataFrame(columns=["cell_type", "share_original", "share_steered", "share_null"])
        landed = np.array([""] * len(rows), dtype=object)
    if umap is None:
        return Landing(shares, landed.astype(str), None, None)
    umap = np.asarray(umap, dtype=np.float64)[:, :2]
    moved = umap[after].mean(axis=1) - umap[before].mean(axis=1)
    return Landing(shares, landed.astype(str), umap[rows], umap[rows] + moved)
