"""Faithfulness of a gene ranking: how far a concept falls when a set of its genes is taken away together.

A ranking that finds what the model reads should name genes whose joint removal lowers the concept more
than the removal of as many genes drawn at random among those its cells express (the chance level).
"Removal" sets the genes to the concept's baseline, the mean over the cells where it is inactive, as the
``baseline`` attribution strategy does for one gene at a time.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp
import torch

from scconcepts.attribution import inactive_means, select_cells
from scconcepts.models._base import Encoder


def deletion_fall(
    encoder: Encoder,
    components: Callable[[torch.Tensor], torch.Tensor],
    x: sp.csr_matrix,
    activations: sp.csr_matrix,
    concept: int,
    gene_sets: dict[str, np.ndarray],
    *,
    n_cells: int = 50,
    n_random: int = 20,
    seed: int = 0,
) -> dict[str, float]:
    """Relative fall of a concept in its top cells when each gene set is set to the concept's baseline at once.

    Parameters
    ----------
    encoder
        The model; cells are re-encoded through :meth:`Encoder.encode` (no covariates).
    components
        Embeddings -> activations, e.g. an SAE's ``encode``.
    x
        Cells x ``encoder.genes`` expression.
    activations
        Cells x concepts activations (they choose the concept's top cells and its inactive cells).
    concept
        Column of ``activations`` to measure.
    gene_sets
        Named sets of columns of ``x``.
    n_cells
        The concept's most active cells to perturb.
    n_random, seed
        Chance level: ``n_random`` draws of as many genes as the largest set, among the genes expressed in at
        least half of the cells.

    Returns
    -------
    Per set name, ``1 - mean activation after / mean activation before`` (0: no effect; 1: the concept is
    gone); ``"random"`` and ``"random_sd"``: the mean and spread of the random draws.

    """
    cells = select_cells(activations, np.array([concept]), n_cells=n_cells, how="top")[0]
    baseline = inactive_means(x, activations, np.array([concept]))[0]
    before = x[cells].toarray().astype(np.float32)

    def activation(values: np.ndarray) -> float:
        with torch.no_grad():
            return float(components(encoder.encode(torch.as_tensor(values, device=encoder.device)))[:, concept].mean())

    start = activation(before)

    def fall(genes: np.ndarray) -> float:
        after = before.copy()
        after[:, genes] = baseline[genes]
        return 1 - activation(after) / start if start > 0 else 0.0

    falls = {name: fall(np.asarray(genes, dtype=np.int64)) for name, genes in gene_sets.items()}
    size = max((len(g) for g in gene_sets.values()), default=0)
    expressed = np.flatnonzero((before > 0).mean(axis=0) >= 0.5)
    rng = np.random.default_rng(seed)
    draws = [fall(rng.choice(expressed, min(size, expressed.size), replace=False)) for _ in range(n_random)]
    falls["random"] = float(np.mean(draws)) if draws else 0.0
    falls["random_sd"] = float(np.std(draws)) if draws else 0.0
    return falls
