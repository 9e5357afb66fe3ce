"""Collapse near-duplicate terms: sets that share most genes are reported once, under the best one."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


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
    representatives: list[int] = []
    out: dict[int, int] = {}
    for term in order:
        match = next((r for r in representatives if jaccard(rows[term], rows[r]) >= threshold), None)
        if match is None:
            representatives.append(term)
            out[term] = term
        else:
            out[term] = match
    return out
