"""Monosemanticity: whether the top activating cells of a component belong to one cell type."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from scconcepts.evaluation._fidelity import ACTIVE_TOL

#: A component counts as monosemantic when at least this share of its top cells is one type.
PURE_SHARE = 0.8


def orientation(activations: np.ndarray) -> np.ndarray:
    """Per component, -1 where the heavier tail (the larger extreme about the median) is negative, else 1."""
    x = np.asarray(activations, dtype=np.float64)
    median = np.median(x, axis=0)
    return np.where((median - x.min(axis=0)) > (x.max(axis=0) - median), -1.0, 1.0)


def orient(activations: np.ndarray) -> np.ndarray:
    """Flip signed components so that their heavier tail is positive (see :func:`orientation`)."""
    x = np.asarray(activations, dtype=np.float64)
    return x * orientation(x)


def top_cells(column: np.ndarray, n_top: int, *, positive_only: bool) -> np.ndarray:
    """Indices of the (at most) ``n_top`` cells with the largest values; only active ones if ``positive_only``."""
    order = np.argsort(-column, kind="stable")[:n_top]
    if positive_only:
        order = order[column[order] > ACTIVE_TOL]
    return order


def purity(labels: np.ndarray) -> float:
    """Share of the most common label among ``labels``."""
    if len(labels) == 0:
        return float("nan")
    return float(np.unique(labels, return_counts=True)[1].max() / len(labels))


def top_cell_ami(selected: np.ndarray, labels: np.ndarray) -> float:
    """Adjusted mutual information between cell types and membership of the selected (top) cells."""
    types, codes = np.unique(np.asarray(labels), return_inverse=True)
    member = np.unique(np.asarray(selected, dtype=np.int64))
    in_top = np.bincount(codes[member], minlength=types.size)
    return _ami_from_counts(in_top, np.bincount(codes, minlength=types.size))


def _ami_from_counts(in_top: np.ndarray, totals: np.ndarray) -> float:
    """:func:`top_cell_ami` from counts per cell type (among the selected cells, among all cells).

    The same value as :func:`sklearn.metrics.adjusted_mutual_info_score` (arithmetic mean), computed on
    the 2-column contingency table instead of two label vectors, so a component costs O(types), not O(cells).
    """
    from sklearn.metrics import mutual_info_score
    from sklearn.metrics.cluster._expected_mutual_info_fast import expected_mutual_information

    n, n_in = int(totals.sum()), int(in_top.sum())
    n_types, n_groups = int((totals > 0).sum()), 1 + int(0 < n_in < n)
    if n_types == n_groups == 1 or n == 0:
        return 1.0
    if n_types == 1 or n_groups == 1:
        return 0.0
    present = totals > 0
    contingency = np.column_stack([totals - in_top, in_top])[present].astype(np.int64)
    mi = mutual_info_score(None, None, contingency=contingency)
    emi = expected_mutual_information(contingency, n)
    normalizer = np.mean([_entropy(totals[present]), _entropy(np.array([n - n_in, n_in]))])
    eps = np.finfo("float64").eps
    denominator = min(normalizer - emi, -eps) if normalizer - emi < 0 else max(normalizer - emi, eps)
    numerator = min(mi - emi, -eps) if mi - emi < 0 else max(mi - emi, eps)
    return float(numerator / denominator)


def _entropy(counts: np.ndarray) -> float:
    """Entropy (natural log) of a labelling with these (positive) counts per label."""
    pi = counts.astype(np.float64)
    if pi.size == 1:
        return 0.0
    pi_sum = np.sum(pi)
    return float(-np.sum((pi / pi_sum) * (np.log(pi) - np.log(pi_sum))))


def top_cell_sets(
    activations: np.ndarray | sp.spmatrix, *, n_top: int | None = None, signed: bool = False, min_cells: int = 5
) -> tuple[list[np.ndarray], int]:
    """Each scored component's top cells (see :func:`monosemanticity`) and the ``n_top`` used.

    Sparse activations are read column by column (CSC), never densified: unsigned, only a column's
    stored active values are sorted; signed, one column at a time is made dense to orient it.
    """
    n_top = n_top or int(np.clip(round(0.05 * activations.shape[0]), 10, 100))
    if sp.issparse(activations):
        selections = _sparse_top_cells(sp.csc_matrix(activations), n_top, signed=signed)
    else:
        x = np.asarray(activations, dtype=np.float64)
        if signed:
            x = orient(x)
        selections = [top_cells(x[:, j], n_top, positive_only=not signed) for j in range(x.shape[1])]
    return [s for s in selections if len(s) >= min_cells], n_top


def _sparse_top_cells(columns: sp.csc_matrix, n_top: int, *, signed: bool) -> list[np.ndarray]:
    """:func:`top_cells` of every column of a CSC matrix, the same cells in the same order as densely."""
    columns = columns.copy() if not columns.has_canonical_format else columns
    columns.sum_duplicates()  # sorted row indices: ties keep the dense stable order (lower cell first)
    selections = []
    for j in range(columns.shape[1]):
        start, stop = columns.indptr[j], columns.indptr[j + 1]
        if signed:
            column = np.zeros(columns.shape[0], dtype=columns.dtype)
            column[columns.indices[start:stop]] = columns.data[start:stop]
            selections.append(top_cells(orient(column[:, None])[:, 0], n_top, positive_only=False))
            continue
        values, cells = columns.data[start:stop], columns.indices[start:stop]
        active = values > ACTIVE_TOL  # unstored cells are 0, below the threshold, so never top cells
        values, cells = values[active], cells[active]
        selections.append(cells[np.argsort(-values, kind="stable")[:n_top]].astype(np.int64))
    return selections


def _scores(selections: list[np.ndarray], labels: np.ndarray) -> dict[str, float]:
    if not selections:
        nan = float("nan")
        return {"purity": nan, "ami": nan, "pure_share": nan}
    types, codes = np.unique(labels, return_inverse=True)
    totals = np.bincount(codes, minlength=types.size)
    purities, amis = [], []
    for s in selections:  # counts per cell type among the top cells give both scores
        in_top = np.bincount(codes[np.unique(s)], minlength=types.size)
        purities.append(np.bincount(codes[s], minlength=types.size).max() / len(s))
        amis.append(_ami_from_counts(in_top, totals))
    purities = np.array(purities, dtype=np.float64)
    return {
        "purity": float(purities.mean()),
        "ami": float(np.mean(amis)),
        "pure_share": float((purities >= PURE_SHARE).mean()),
    }


def monosemanticity(
    activations: np.ndarray | sp.spmatrix,
    labels: np.ndarray,
    *,
    n_top: int | None = None,
    signed: bool = False,
    min_cells: int = 5,
    n_permutations: int = 0,
    seed: int = 0,
) -> dict[str, float]:
    """Purity and AMI of each component's top activating cells against cell types, beside permuted labels.

    Parameters
    ----------
    activations
        Cells x components.
    labels
        Cell type of each cell.
    n_top
        Top cells per component; ``None`` uses 5% of the cells, between 10 and 100.
    signed
        Components take both signs (neurons, PCA, ICA): each is first oriented so that its heavier
        tail is positive (see :func:`orient`); otherwise only active cells count as top cells.
    min_cells
        Components with fewer active top cells are not scored (they are dead or nearly so).
    n_permutations
        Label permutations for the chance levels (0: none). The same top cells are scored against
        permuted cell types (:func:`scconcepts.stats.permuted_labels`), which keeps the type counts
        and breaks their link with the activations.
    seed
        Seed of the permutations.

    Returns
    -------
    ``purity`` and ``ami`` (means over scored components), ``pure_share`` (share of scored
    components whose top cells are at least 80% one type), ``n_scored`` and ``n_top``; with
    permutations also ``purity_chance``, ``ami_chance`` and ``pure_share_chance`` (means over
    permutations).

    """
    from scconcepts.stats import permuted_labels

    labels = np.asarray(labels).astype(str)
    selections, n_top = top_cell_sets(activations, n_top=n_top, signed=signed, min_cells=min_cells)
    result: dict[str, float] = {**_scores(selections, labels), "n_scored": len(selections), "n_top": n_top}
    if n_permutations > 0:
        null = [_scores(selections, permuted) for permuted in permuted_labels(labels, n_permutations, seed=seed)]
        for name in ("purity", "ami", "pure_share"):
            result[f"{name}_chance"] = float(np.mean([draw[name] for draw in null]))
    return result
