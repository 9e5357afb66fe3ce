"""The source and target cells of a steering toward a state: a cell type, several types, or a query on ``obs``."""

from __future__ import annotations

import numpy as np
from anndata import AnnData

from scconcepts._errors import InputError


def _types(adata: AnnData, labels_key: str | None) -> np.ndarray | None:
    if labels_key is None or labels_key not in adata.obs:
        return None
    return adata.obs[labels_key].astype(str).to_numpy()


def select_group(adata: AnnData, spec: str, *, labels_key: str | None, option: str) -> np.ndarray:
    """Rows named by ``spec``: a cell type of ``obs[labels_key]``, types joined by commas, or a query on ``obs``.

    Raises :class:`InputError` (naming ``option``) for a spec that is none of these or matches no cell.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise InputError(f"{option} is empty; give a cell type of obs[{labels_key!r}] or a query on obs")
    labels = _types(adata, labels_key)
    if labels is not None:
        names = [part.strip() for part in spec.split(",")]
        known = set(labels)
        if all(name in known for name in names):
            return np.flatnonzero(np.isin(labels, names))
    try:
        rows = adata.obs.assign(_row=np.arange(adata.n_obs)).query(spec)["_row"].to_numpy()
    except Exception as error:  # pandas raises many types for a bad query
        types = sorted(set(labels))[:10] if labels is not None else []
        hint = (
            f"cell types: {', '.join(types)}" if types else f"obs columns: {', '.join(map(str, adata.obs.columns[:8]))}"
        )
        raise InputError(
            f"{option} {spec!r} is neither a cell type of obs[{labels_key!r}] nor a query on obs ({hint})"
        ) from error
    rows = np.asarray(rows, dtype=np.int64)
    if rows.size == 0:
        raise InputError(f"{option} {spec!r} matches no cell")
    return rows


def source_and_target(
    adata: AnnData, source: str, target: str, *, labels_key: str | None
) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the source and the target cells; they must be disjoint and hold at least two cells each."""
    rows_source = select_group(adata, source, labels_key=labels_key, option="--cells")
    rows_target = select_group(adata, target, labels_key=labels_key, option="--toward")
    shared = np.intersect1d(rows_source, rows_target)
    if shared.size == rows_source.size and shared.size == rows_target.size:
        raise InputError(f"--cells {source!r} and --toward {target!r} are the same cells; steer toward another state")
    if shared.size:
        raise InputError(
            f"--cells {source!r} and --toward {target!r} share {shared.size} cells; give two disjoint groups"
        )
    for spec, rows, option in ((source, rows_source, "--cells"), (target, rows_target, "--toward")):
        if rows.size < 2:
            raise InputError(f"{option} {spec!r} matches {rows.size} cell; at least 2 are needed")
    return rows_source, rows_target
