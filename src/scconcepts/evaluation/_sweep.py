"""The k x expansion sweep: fidelity and sparsity of SAEs over a grid of sizes."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from scconcepts._progress import progress
from scconcepts.evaluation._sae_runs import fit_sae, sae_fidelity, with_settings
from scconcepts.sae import SAEConfig

logger = logging.getLogger(__name__)


def default_grid(k: int, expansion: int, n_dims: int) -> list[tuple[int, int]]:
    """A cross through the run's ``(k, expansion)``: half and double each, the other held at the run's value."""
    points = [(max(1, k // 2), expansion), (k, expansion), (2 * k, expansion)]
    points += [(k, max(1, expansion // 2)), (k, 2 * expansion)]
    return sorted({(a, e) for a, e in points if a <= e * n_dims})


def sweep(
    embedding: np.ndarray,
    train_rows: np.ndarray,
    val_rows: np.ndarray,
    config: SAEConfig,
    *,
    grid: Sequence[tuple[int, int]],
    known: dict[tuple[int, int], dict[str, float]] | None = None,
) -> pd.DataFrame:
    """Train one SAE per (k, expansion) on the training rows and measure it on the held-out rows.

    Parameters
    ----------
    embedding
        Cells x dims.
    train_rows, val_rows
        Row indices to train on and to measure on.
    config
        Base settings (seed, learning rate, epochs...); ``k``, ``expansion`` and the automatic
        settings that depend on them are set per grid point.
    grid
        ``(k, expansion)`` points, e.g. :func:`default_grid` or ``itertools.product(ks, expansions)``.
    known
        Already measured grid points (``(k, expansion) -> metrics``), reused instead of retrained.

    Returns
    -------
    One row per grid point: ``k``, ``expansion``, ``n_concepts``, ``r2``, ``l0``, ``dead_fraction``.

    """
    known = known or {}
    rows = []
    grid = [(int(k), int(e)) for k, e in grid if k <= e * embedding.shape[1]]
    for k, expansion in progress(grid, desc="k x expansion sweep", unit="SAE"):
        if (k, expansion) in known:
            metrics = known[(k, expansion)]
        else:
            settings = with_settings(config, k=k, expansion=expansion, aux_k=None, sparse_backward=None)
            metrics = sae_fidelity(fit_sae(embedding, train_rows, settings), embedding, val_rows)[0]
        rows.append({"k": k, "expansion": expansion, "n_concepts": expansion * embedding.shape[1], **metrics})
    return pd.DataFrame(rows)


def sweep_around(
    embedding: np.ndarray,
    rows: tuple[np.ndarray, np.ndarray],
    config: SAEConfig,
    *,
    seed: int,
    first: pd.Series,
    grid_k: Sequence[int] | None,
    grid_expansion: Sequence[int] | None,
    consensus: dict[str, Any] | None,
) -> pd.DataFrame:
    """The evaluation's sweep around the run's ``(k, expansion)``, reusing the ``first`` seed's SAE figures there.

    Both grids ``None`` take :func:`default_grid`; one ``None`` keeps the run's value. A consensus's own figures
    are not one of the grid's points (the grid is of single SAEs), so nothing is reused for it.
    """
    k, expansion = int(config.k), int(config.expansion)
    if grid_k is None and grid_expansion is None:
        grid = default_grid(k, expansion, embedding.shape[1])
    else:
        grid = list(itertools.product(grid_k or [k], grid_expansion or [expansion]))
    known = {(k, expansion): {name: float(first[name]) for name in ("r2", "l0", "dead_fraction")}}
    if consensus:
        known = {}
    return sweep(embedding, rows[0], rows[1], with_settings(config, seed=seed), grid=grid, known=known)
