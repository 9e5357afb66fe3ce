"""Selectivity: how well the single best component of a representation marks each cell type, beside chance.

For every label (cell type) and every component, the component's activation is read as a score for
"the cell is of this label" and its AUROC computed over all cells (labels are never used to fit any
method, so no cells need holding out). A representation's figure for a label is its best component's
AUROC: concepts and NMF components count as they are (they are non-negative, a concept marks the cells
where it fires), neurons, principal and independent components and dictionary atoms in either sign
(``max(AUROC, 1 - AUROC)``: their sign is arbitrary). The chance level is the same best AUROC with the
labels permuted (type counts kept), the mean over permutations: with many components, the best of them
is above 0.5 even when none marks anything.

The top-cell purity of :func:`scconcepts.evaluation.monosemanticity` looks only at each component's
strongest cells; this figure reads every cell, so a concept that marks a few cells of a type perfectly
but fires on a third of all cells scores poorly here, as it should.

The AUROC comes from ranks (the Mann-Whitney statistic, ties at their mean rank): each component is
ranked once, and the rank sums of every label (and of every permutation) are one product with a
labels x cells indicator matrix, so 7 labels x 50 components x 3,500 cells cost milliseconds.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.stats import rankdata

from scconcepts.stats import permuted_labels, type_shares

logger = logging.getLogger(__name__)

#: Column of the selectivity table holding the concepts' chance level.
CHANCE = "chance"
#: Methods whose components count in either sign.
SIGNED = ("neurons", "pca", "ica", "dictionary")


def _column_ranks(column: np.ndarray, n_zeros: int) -> tuple[np.ndarray, float]:
    """Mean ranks (1-based, ties averaged) of a sparse column's stored values and of its ``n_zeros`` implicit zeros."""
    ordered = np.sort(column)
    below = np.searchsorted(ordered, column, side="left") + np.where(column > 0, n_zeros, 0)
    equal = np.searchsorted(ordered, column, side="right") - np.searchsorted(ordered, column, side="left")
    equal = equal + np.where(column == 0, n_zeros, 0)
    zero_below = np.searchsorted(ordered, 0.0, side="left")
    zero_equal = np.searchsorted(ordered, 0.0, side="right") - zero_below + n_zeros
    return below + (equal + 1) / 2, zero_below + (zero_equal + 1) / 2


class _Ranks:
    """Every component's ranks over the cells, kept sparse for sparse activations (implicit zeros tie)."""

    def __init__(self, activations: np.ndarray | sp.spmatrix) -> None:
        self.n_cells, self.n_components = activations.shape
        if not sp.issparse(activations):
            self.base = np.zeros(self.n_components)
            self.offsets: np.ndarray | sp.csc_matrix = rankdata(np.asarray(activations, np.float64), axis=0)
            return
        csc = sp.csc_matrix(activations, dtype=np.float64, copy=True)
        csc.sum_duplicates()
        self.base = np.zeros(self.n_components)
        for j in range(self.n_components):
            start, stop = csc.indptr[j], csc.indptr[j + 1]
            ranks, zero_rank = _column_ranks(csc.data[start:stop], self.n_cells - (stop - start))
            csc.data[start:stop] = ranks - zero_rank  # a cell's rank is the zero rank plus its stored offset
            self.base[j] = zero_rank
        self.offsets = csc

    def auroc(self, codes: np.ndarray, n_labels: int) -> np.ndarray:
        """Labels x components AUROC of each component as a score for each label (NaN for a label of every cell)."""
        indicator = sp.csr_matrix(
            (np.ones(self.n_cells), (codes, np.arange(self.n_cells))), shape=(n_labels, self.n_cells)
        )
        positives = np.bincount(codes, minlength=n_labels).astype(np.float64)[:, None]
        rank_sums = indicator @ self.offsets
        rank_sums = np.asarray(rank_sums.todense() if sp.issparse(rank_sums) else rank_sums) + positives * self.base
        negatives = self.n_cells - positives
        with np.errstate(invalid="ignore", divide="ignore"):
            return (rank_sums - positives * (positives + 1) / 2) / (positives * negatives)


def _best(auroc: np.ndarray, *, either_sign: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per label, the best component's AUROC and its index (-1 without components)."""
    if auroc.shape[1] == 0:
        return np.full(auroc.shape[0], np.nan), np.full(auroc.shape[0], -1)
    scores = np.maximum(auroc, 1 - auroc) if either_sign else auroc
    filled = np.nan_to_num(scores, nan=-np.inf)
    return scores.max(axis=1), filled.argmax(axis=1)


def component_selectivity(
    activations: np.ndarray | sp.spmatrix,
    labels: np.ndarray,
    *,
    signed: bool,
    n_permutations: int = 5,
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """Per label, the best component's AUROC, and its mean over label permutations (the chance level).

    Parameters
    ----------
    activations
        Cells x components (dense or sparse).
    labels
        Label of each cell.
    signed
        Components count in either sign (``max(AUROC, 1 - AUROC)``).
    n_permutations
        Label permutations of the chance level (:func:`scconcepts.stats.permuted_labels`).
    seed
        Seed of the permutations.

    Returns
    -------
    ``{"best": {label: AUROC}, "component": {label: index}, "chance": {label: AUROC}}``.

    """
    types, codes = np.unique(np.asarray(labels).astype(str), return_inverse=True)
    ranks = _Ranks(activations)
    best, index = _best(ranks.auroc(codes, len(types)), either_sign=signed)
    null = [
        _best(ranks.auroc(permuted, len(types)), either_sign=signed)[0]
        for permuted in permuted_labels(codes, n_permutations, seed=seed)
    ]
    chance = np.mean(null, axis=0) if null else np.full(len(types), np.nan)
    return {
        "best": dict(zip(types.tolist(), best.tolist(), strict=True)),
        "component": dict(zip(types.tolist(), index.tolist(), strict=True)),
        "chance": dict(zip(types.tolist(), chance.tolist(), strict=True)),
    }


def concept_selectivity(activations: np.ndarray | sp.spmatrix, labels: np.ndarray) -> pd.DataFrame:
    """Per concept: its top label (:func:`scconcepts.stats.type_shares`) and how much of its activation is there.

    Returns
    -------
    A frame indexed by concept: ``top_label`` ("" for a dead concept), ``share`` (mean activation per
    cell of that label over the sum across labels), ``mass_share`` (share of the concept's activation
    mass on the label's cells), ``cell_share`` (the label's share of cells), ``lift`` (mass share over
    cell share) and ``auroc`` (the concept as a score for its top label).

    """
    shares = type_shares(activations, labels)
    types, codes = np.unique(np.asarray(labels).astype(str), return_inverse=True)
    auroc = _Ranks(activations).auroc(codes, len(types))
    top = shares.top()
    alive = top >= 0
    columns = np.arange(len(top))
    pick = np.maximum(top, 0)

    def at_top(matrix: np.ndarray) -> np.ndarray:
        return np.where(alive, matrix[pick, columns], np.nan) if len(types) else np.full(len(top), np.nan)

    frame = pd.DataFrame(
        {
            "top_label": np.where(alive, shares.types[pick], "") if len(types) else "",
            "share": at_top(shares.share),
            "mass_share": at_top(shares.mass_share),
            "cell_share": np.where(alive, shares.cell_share[pick], np.nan) if len(types) else np.nan,
            "lift": at_top(shares.lift),
            "auroc": at_top(auroc),
        },
        index=pd.Index(columns, name="concept"),
    )
    return frame


def summarise_selectivity(
    units: Sequence[tuple[str, int, dict[str, dict[str, float]] | None]],
    labels: np.ndarray,
    *,
    run_activations: np.ndarray | sp.spmatrix | None = None,
    n_permutations: int = 5,
    seed: int = 0,
) -> dict[str, Any]:
    """The evaluation's ``selectivity``: per label, each method's best-component AUROC (mean over seeds).

    Parameters
    ----------
    units
        ``(method, seed, component_selectivity(...))`` of every evaluation fit (``None`` entries skipped).
    labels
        Label of each cell (the evaluation's ``labels_key``).
    run_activations
        The run's own concepts (``obsm["X_<key>"]``), measured too (column ``run``) and described per
        concept (:func:`concept_selectivity`).
    n_permutations, seed
        Permutations of the run's concepts' chance level.

    Returns
    -------
    ``table`` (labels x methods, ``n_cells``, each method's ``<method>`` and ``<method>_chance`` and
    ``chance``: the concepts' (``sae``) chance level), ``mean`` (per column, over labels), ``concepts``
    (per run concept, with ``run_activations``) and ``params``.

    """
    names, counts = np.unique(np.asarray(labels).astype(str), return_counts=True)
    per_method: dict[str, list[dict[str, dict[str, float]]]] = {}
    for method, _, measured in units:
        if measured is not None:
            per_method.setdefault(method, []).append(measured)
    if run_activations is not None:
        run = component_selectivity(run_activations, labels, signed=False, n_permutations=n_permutations, seed=seed)
        per_method["run"] = [run]
    table = pd.DataFrame({"n_cells": counts}, index=pd.Index(names, name="label"))
    for method, measured in per_method.items():
        table[method] = [np.mean([m["best"][name] for m in measured]) for name in names]
        table[f"{method}_chance"] = [np.mean([m["chance"][name] for m in measured]) for name in names]
    if "sae" in per_method:
        table[CHANCE] = table["sae_chance"]
    mean = {column: float(table[column].mean()) for column in table.columns if column != "n_cells"}
    result: dict[str, Any] = {
        "table": table,
        "mean": mean,
        "params": {
            "score": "AUROC of one component's activation for 'the cell is of this label', over all cells",
            "either_sign": [m for m in per_method if m in SIGNED],
            "chance": f"the same best AUROC with the labels permuted, mean over {n_permutations} permutations",
            "n_seeds": {method: len(measured) for method, measured in per_method.items()},
        },
    }
    if run_activations is not None:
        result["concepts"] = concept_selectivity(run_activations, labels)
    return result


def selectivity_line(selectivity: dict[str, Any]) -> str:
    """One line: the mean best-component AUROC over labels of each method, the concepts' beside their chance."""
    mean = selectivity["mean"]
    methods = [m for m in mean if not m.endswith("_chance") and m != CHANCE]
    parts = [f"{m} {mean[m]:.3f}" + (f" (chance {mean[f'{m}_chance']:.3f})" if m in ("sae", "run") else "")
             for m in methods]  # fmt: skip
    n_labels = len(selectivity["table"])
    return f"selectivity (mean over {n_labels} labels of the best component's AUROC): " + ", ".join(parts)
