"""Held-out term members: whether a concept's term holds beyond the genes that named it.

A term is significant for a concept when its members rank high in the concept's attribution, and a label
is often carried by a handful of top genes only (a feature "annotated" with a pathway whose *other* members
it does not read). The test here takes the term's members that are *not* among the concept's top attributed
genes, sets them to the concept's baseline together in its top cells, and compares the fall with random
gene sets matched to them in size and in expression level there (each member replaced by a gene of the same
expression decile). A term whose held-out members lower the concept beyond the matched sets (mean +
:data:`~scconcepts.stats._faithfulness.N_SD` sd) rests on more than the genes that named it.
"""

from __future__ import annotations

import numpy as np

#: Expression-level bins (quantiles of the candidate genes' mean in the concept's top cells) for matching.
N_BINS = 10


def held_out(members: np.ndarray, top: np.ndarray) -> np.ndarray:
    """The term's member columns that are not among the concept's top attributed columns (sorted)."""
    return np.setdiff1d(np.asarray(members, dtype=np.int64), np.asarray(top, dtype=np.int64))


def matched_draws(
    genes: np.ndarray, candidates: np.ndarray, level: np.ndarray, *, n_random: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """``n_random`` random sets of ``candidates``, each gene of ``genes`` replaced by one of its expression bin.

    Parameters
    ----------
    genes
        Columns to match (the held-out members).
    candidates
        Columns a random set may use (the model's genes outside the term and the concept's top genes).
    level
        Per column, the expression level the bins are cut from (e.g. the mean in the concept's top cells).
    n_random, rng
        Number of sets and their random generator.

    Returns
    -------
    Sets of ``len(genes)`` distinct columns (fewer only when there are fewer candidates).

    """
    genes, candidates = np.asarray(genes, dtype=np.int64), np.asarray(candidates, dtype=np.int64)
    if genes.size == 0 or candidates.size == 0:
        return [np.zeros(0, dtype=np.int64) for _ in range(n_random)]
    edges = np.unique(np.quantile(level[candidates], np.linspace(0, 1, N_BINS + 1)[1:-1]))
    candidate_bin = np.searchsorted(edges, level[candidates], side="right")
    wanted = np.bincount(np.searchsorted(edges, level[genes], side="right"), minlength=edges.size + 1)
    draws = []
    for _ in range(n_random):
        chosen: list[np.ndarray] = []
        for b in np.flatnonzero(wanted):
            pool = candidates[candidate_bin == b]
            chosen.append(rng.choice(pool, min(int(wanted[b]), pool.size), replace=False))
        picked = np.concatenate(chosen) if chosen else np.zeros(0, dtype=np.int64)
        short = min(genes.size, candidates.size) - picked.size  # a bin with too few genes: fill from the rest
        if short > 0:
            rest = np.setdiff1d(candidates, picked)
            picked = np.concatenate([picked, rng.choice(rest, short, replace=False)])
        draws.append(np.sort(picked))
    return draws
