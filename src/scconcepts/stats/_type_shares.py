"""Where a concept fires, by cell type: the one definition of cell-type shares every reader of a concept uses.

The concept table (``top_cell_type``, ``top_cell_type_share``, ``top_cell_type_lift``), the labels'
cell-type prefix and ``cell_types`` column (:func:`scconcepts.tl.label_concepts`), the explorer's
catalogue and concept page, the report and the evaluation's per-concept selectivity all read a
concept's cell types from :func:`type_shares`, so they cannot tell different stories.

Definition. For a concept with activation mass ``M_t`` on the ``n_t`` cells of type ``t`` (``M`` and
``N`` over all cells), the *lift* of ``t`` is the type's share of the activation mass over its share of
the cells, ``(M_t / M) / (n_t / N)``, and the *share* of ``t`` is the concept's mean activation per
cell of ``t`` normalised to sum to 1 over types, ``(M_t / n_t) / sum_u (M_u / n_u)``. The share is the
lift divided by the sum of the lifts, so both rank the types the same way; types are ranked by them.

Why not the raw mass share ``M_t / M``: it grows with the size of the type. A concept firing equally
on every cell of a 30-cell and a 3,000-cell type holds 99% of its mass in the big type, and on a data
set with one large group (pbmc68k's dendritic cells) every concept's top type was that group. The
share above is the mass share the concept would have if every type had the same number of cells: it
does not depend on the sizes, it sums to 1 (so "one or two types hold 70%" still reads as a share),
and it is monotone in the lift (so a ranked list of shares never contradicts the ranking). The raw
mass share and the lift are kept beside it for readers who want the activation as it falls on the data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp


@dataclass(frozen=True)
class TypeShares:
    """Activation of each concept summed over each cell type's cells, and the shares read from it.

    Attributes
    ----------
    types
        Cell-type names, sorted (types without cells are absent).
    n_cells
        Cells of each type.
    mass
        Types x concepts: the concept's activation summed over the type's cells.

    """

    types: np.ndarray
    n_cells: np.ndarray
    mass: np.ndarray

    @property
    def alive(self) -> np.ndarray:
        """Per concept, whether it fires on any cell."""
        return self.mass.sum(axis=0) > 0

    @property
    def cell_share(self) -> np.ndarray:
        """Each type's share of all cells."""
        return self.n_cells / max(int(self.n_cells.sum()), 1)

    @property
    def mass_share(self) -> np.ndarray:
        """Types x concepts: the share of the concept's activation mass on the type's cells (0 for dead concepts)."""
        return _normalised(self.mass)

    @property
    def lift(self) -> np.ndarray:
        """Types x concepts: mass share over the type's share of cells (1: as much as its size; 0 for dead concepts)."""
        return self.mass_share / np.maximum(self.cell_share, 1e-300)[:, None]

    @property
    def share(self) -> np.ndarray:
        """Types x concepts: mean activation per cell of the type, normalised to 1 over types (see the module)."""
        return _normalised(self.mass / np.maximum(self.n_cells, 1)[:, None])

    def top(self) -> np.ndarray:
        """Per concept, the index of its top type (largest share, first type on ties); -1 for dead concepts."""
        if self.mass.shape[0] == 0:
            return np.full(self.mass.shape[1], -1)
        return np.where(self.alive, self.share.argmax(axis=0), -1)

    def frame(self, concept: int) -> pd.DataFrame:
        """One concept's types, ranked: ``share``, ``mass_share``, ``cell_share`` and ``lift``, indexed by type."""
        frame = pd.DataFrame(
            {
                "share": self.share[:, concept],
                "mass_share": self.mass_share[:, concept],
                "cell_share": self.cell_share,
                "lift": self.lift[:, concept],
                "n_cells": self.n_cells,
            },
            index=pd.Index(self.types, name="cell_type"),
        )
        return frame.sort_values("share", ascending=False, kind="stable")

    def shares_frame(self) -> pd.DataFrame:
        """Types x concepts :attr:`share` as a frame indexed by type, columns the concept numbers."""
        return pd.DataFrame(self.share, index=pd.Index(self.types, name="cell_type"))


def _normalised(values: np.ndarray) -> np.ndarray:
    """Columns divided by their sums; all-zero columns stay zero."""
    totals = values.sum(axis=0, keepdims=True)
    return np.divide(values, totals, out=np.zeros_like(values, dtype=np.float64), where=totals > 0)


def type_shares(activations: np.ndarray | sp.spmatrix, labels: np.ndarray | pd.Series | pd.Categorical) -> TypeShares:
    """Sum each concept's activation over the cells of each type (the basis of every cell-type share).

    Parameters
    ----------
    activations
        Non-negative cells x concepts activations (dense or sparse).
    labels
        Cell type of each cell (compared as text).

    Returns
    -------
    The :class:`TypeShares`: use its ``share`` (mean activation per cell, normalised over types) to rank
    and show types, ``lift`` and ``mass_share`` beside it.

    """
    names = np.asarray(pd.Series(np.asarray(labels)).astype(str))
    types, codes = np.unique(names, return_inverse=True)
    n_cells = activations.shape[0]
    if len(names) != n_cells:
        raise ValueError(f"{len(names)} labels for {n_cells} cells")
    membership = sp.csr_matrix((np.ones(n_cells), (codes, np.arange(n_cells))), shape=(len(types), n_cells))
    if sp.issparse(activations):
        mass = np.asarray((membership @ sp.csr_matrix(activations, dtype=np.float64)).todense())
    else:
        mass = np.asarray(membership @ np.asarray(activations, dtype=np.float64))
    return TypeShares(types=types.astype(str), n_cells=np.bincount(codes, minlength=len(types)), mass=mass)
