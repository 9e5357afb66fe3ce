"""Permutation nulls: permuted labels and the empirical p-value of an observed statistic against draws of the null."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np


def permuted_labels(labels: np.ndarray, n_permutations: int, *, seed: int = 0) -> Iterator[np.ndarray]:
    """Yield ``n_permutations`` random permutations of ``labels`` (same type counts, association broken)."""
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    for _ in range(int(n_permutations)):
        yield labels[rng.permutation(len(labels))]


def empirical_pvalue(observed: float, null: np.ndarray, *, greater: bool = True) -> float:
    """One-sided permutation p-value ``(1 + #null at least as extreme) / (1 + #null)`` (never 0)."""
    null = np.asarray(null, dtype=np.float64)
    null = null[np.isfinite(null)]
    if not np.isfinite(observed) or null.size == 0:
        return float("nan")
    extreme = (null >= observed) if greater else (null <= observed)
    return float((1 + extreme.sum()) / (1 + null.size))
