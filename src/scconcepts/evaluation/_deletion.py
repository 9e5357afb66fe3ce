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
    return deletion_falls(
        encoder, components, x, activations, np.array([concept]), [gene_sets], n_cells=n_cells, n_random=n_random,
        seed=seed,
    )[0]  # fmt: skip


def deletion_falls(
    encoder: Encoder,
    components: Callable[[torch.Tensor], torch.Tensor],
    x: sp.csr_matrix,
    activations: sp.csr_matrix,
    concepts: np.ndarray,
    gene_sets: list[dict[str, np.ndarray]],
    *,
    context: np.ndarray | None = None,
    n_cells: int = 50,
    n_random: int = 20,
    seed: int = 0,
    batch_size: int = 2048,
    draws: list[list[np.ndarray]] | None = None,
) -> list[dict[str, float]]:
    """:func:`deletion_fall` of several concepts, each concept's perturbed copies re-encoded in few batches.

    A concept's top cells, their copies with each gene set at the baseline and the copies of every random
    draw go through the encoder together (at most ``batch_size`` rows at a time), so a concept costs one
    forward pass or a few, not one per set. The baselines of all concepts come from one pass over ``x``.

    Parameters
    ----------
    encoder, components, x, activations, n_cells, n_random, seed
        As in :func:`deletion_fall`; each concept draws its random sets from its own ``seed``-seeded generator,
        so a concept's falls do not depend on which other concepts are measured with it.
    concepts
        Columns of ``activations`` to measure.
    gene_sets
        Per concept, its named sets of columns of ``x``.
    context
        Per-cell covariate codes (rows of ``x``) the encoder needs, or ``None``.
    batch_size
        Most rows re-encoded at once.
    draws
        Per concept, its own random sets (columns of ``x``), e.g. matched to its sets' size and expression, in
        place of the ``n_random`` draws among the genes most of its cells express.

    Returns
    -------
    Per concept, the dictionary :func:`deletion_fall` returns; a concept no cell activates falls by NaN.

    """
    concepts = np.asarray(concepts, dtype=np.int64)
    chosen = select_cells(activations, concepts, n_cells=n_cells, how="top")
    baselines = inactive_means(x, activations, concepts)
    out = []
    for i, (concept, cells, baseline, sets) in enumerate(zip(concepts, chosen, baselines, gene_sets, strict=True)):
        if cells.size == 0:
            out.append(dict.fromkeys([*sets, "random", "random_sd"], float("nan")))
            continue
        before = x[cells].toarray().astype(np.float32)
        size = max((len(g) for g in sets.values()), default=0)
        expressed = np.flatnonzero((before > 0).mean(axis=0) >= 0.5)
        if draws is None:
            rng = np.random.default_rng(seed)
            random_sets = [rng.choice(expressed, min(size, expressed.size), replace=False) for _ in range(n_random)]
        else:
            random_sets = [np.asarray(genes, dtype=np.int64) for genes in draws[i]]
        removed = [np.asarray(genes, dtype=np.int64) for genes in sets.values()] + random_sets
        ctx = None if context is None else np.asarray(context)[cells]
        means = _perturbed_means(encoder, components, before, baseline, removed, int(concept), ctx, batch_size)
        start = means[0]
        falls = [1 - after / start if start > 0 else 0.0 for after in means[1:]]
        result = dict(zip(sets, falls[: len(sets)], strict=True))
        random = falls[len(sets) :]
        result["random"] = float(np.mean(random)) if random else 0.0
        result["random_sd"] = float(np.std(random)) if random else 0.0
        out.append(result)
    return out


def _perturbed_means(
    encoder: Encoder,
    components: Callable[[torch.Tensor], torch.Tensor],
    before: np.ndarray,
    baseline: np.ndarray,
    removed: list[np.ndarray],
    concept: int,
    context: np.ndarray | None,
    batch_size: int,
) -> list[float]:
    """Mean activation of ``concept`` over the cells ``before``, then with each gene set at ``baseline``."""
    n = before.shape[0]
    per_batch = max(batch_size // n, 1)  # whole copies of the cells in each forward pass
    variants: list[np.ndarray | None] = [None, *removed]
    means: list[float] = []
    for first in range(0, len(variants), per_batch):
        part = variants[first : first + per_batch]
        values = np.repeat(before[None], len(part), axis=0)
        for copy, genes in zip(values, part, strict=True):
            if genes is not None:
                copy[:, genes] = baseline[genes]
        tensor = torch.as_tensor(values.reshape(-1, before.shape[1]), device=encoder.device)
        ctx = None if context is None else torch.as_tensor(np.tile(context, (len(part),) + (1,) * (context.ndim - 1)),
                                                          device=encoder.device)  # fmt: skip
        with torch.no_grad():
            activation = components(encoder.encode(tensor, ctx))[:, concept].float().cpu().numpy()
        means += activation.reshape(len(part), n).mean(axis=1).astype(np.float64).tolist()
    return means
