"""Over-representation (one-sided hypergeometric test) of each concept's selected genes in each set."""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy import stats as st


def ora(selected: np.ndarray, membership: sparse.spmatrix) -> tuple[np.ndarray, np.ndarray]:
    """Return fold enrichments and p-values (concepts x sets) of over-representation.

    Parameters
    ----------
    selected
        Concepts x genes boolean matrix: each concept's significant genes within the background.
    membership
        Genes x sets 0/1 matrix over the same genes.

    """
    selected = np.asarray(selected, dtype=np.float64)
    membership = sparse.csc_matrix(membership)
    overlap = np.asarray(selected @ membership)
    sizes = np.asarray(membership.sum(axis=0)).ravel()[None, :]
    drawn = selected.sum(axis=1)[:, None]
    n = selected.shape[1]
    pvals = st.hypergeom.sf(overlap - 1, n, sizes, drawn)
    with np.errstate(divide="ignore", invalid="ignore"):
        fold = np.where(drawn > 0, overlap / (drawn * sizes / n), 0.0)
    pvals = np.where(drawn > 0, pvals, 1.0)
    return fold, np.clip(pvals, 0.0, 1.0)


def ora_one(selected: np.ndarray, concept: int, genes: np.ndarray) -> tuple[float, float]:
    """Return the fold enrichment and p-value of one concept against one set given by its gene rows."""
    row = np.asarray(selected[concept], dtype=bool)
    drawn, n = int(row.sum()), row.size
    if genes.size == 0 or drawn == 0:
        return 0.0, 1.0
    overlap = int(row[genes].sum())
    return overlap / (drawn * genes.size / n), float(np.clip(st.hypergeom.sf(overlap - 1, n, genes.size, drawn), 0, 1))
