"""Collapse near-duplicate terms: sets that share most genes are reported once, under the best one."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Return the Jaccard index of two sets of gene rows."""
    inter = np.intersect1d(a, b, assume_unique=True).size
    union = a.size + b.size - inter
    return inter / union if union else 0.0


def collapse(order: Sequence[int], rows: Sequence[np.ndarray], *, threshold: float = 0.7) -> dict[int, int]:
    """Map each term of ``order`` (best first) to the representative it duplicates, or to itself.

    A term whose genes have Jaccard index >= ``threshold`` with an earlier representative is
    assigned to the first such representative; otherwise it becomes a representative.
    """
    order = [int(term) for term in order]
    if not order:
        return {}
    lengths = [rows[term].size for term in order]
    indices = np.concatenate([rows[term] for term in order])
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    width = int(indices.max(initial=0)) + 1
    matrix = sparse.csr_matrix((np.ones(indices.size), indices, indptr), shape=(len(order), width))
    inter = (matrix @ matrix.T).toarray()
    sizes = np.asarray(lengths, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        similar = inter / (sizes[:, None] + sizes[None, :] - inter) >= threshold
    representatives: list[int] = []
    out: dict[int, int] = {}
    for i, term in enumerate(order):
        match = next((r for r in representatives if similar[i, r]), None)
        if match is None:
            representatives.append(i)
            out[term] = term
        else:
            out[term] = order[match]
    return out
