"""What ``tl.steer`` changes: the steering value, the chosen cells, the concept named by id or label."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from anndata import AnnData

from scconcepts._errors import InputError

_MULTIPLE = re.compile(r"^\s*(?:[x×*]\s*([0-9.eE+-]+)|([0-9.eE+-]+)\s*[x×])\s*$")


@dataclass(frozen=True)
class SteeringValue:
    """A parsed steering value.

    Attributes
    ----------
    mode
        ``"set"``: the concept's activation becomes :attr:`amount` (a number, or one per chosen cell);
        ``"scale"``: it is multiplied by :attr:`amount`.
    amount
        The target activation(s) or the factor.
    text
        How the value is written in tables (``off``, ``x2``, ``0.5``, ``own``...).

    """

    mode: str
    amount: float | np.ndarray
    text: str

    def target(self, current: np.ndarray) -> np.ndarray:
        """New activations of the chosen cells given their ``current`` ones."""
        if self.mode == "scale":
            return current * float(self.amount)
        amount = np.asarray(self.amount, dtype=np.float64)
        if amount.ndim and amount.shape != current.shape:
            raise InputError(
                f"value holds {amount.size} activations for {current.size} chosen cells; give one per cell"
            )
        return np.broadcast_to(amount, current.shape).astype(np.float64)


def parse_value(value: float | str | Sequence[float] | np.ndarray | SteeringValue) -> SteeringValue:
    """Read ``0.0``, ``"off"``, ``"x2"`` / ``"2x"`` (a multiple of the activation), a number, or one number per cell."""
    if isinstance(value, SteeringValue):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text in {"off", "zero"}:
            return SteeringValue("set", 0.0, "off")
        match = _MULTIPLE.match(text)
        if match:
            factor = _number(match.group(1) or match.group(2), value)
            return SteeringValue("scale", factor, f"x{factor:g}")
        return parse_value(_number(text, value))
    if isinstance(value, int | float | np.floating | np.integer):
        number = float(value)
        if not np.isfinite(number) or number < 0:
            raise InputError(f"value {value!r}: a concept's activation is a finite number >= 0")
        return SteeringValue("set", number, "off" if number == 0 else f"{number:g}")
    array = np.asarray(value, dtype=np.float64).ravel()
    if not np.isfinite(array).all() or (array < 0).any():
        raise InputError("value: activations must be finite numbers >= 0")
    return SteeringValue("set", array, "per cell")


def _number(text: str, original: object) -> float:
    try:
        number = float(text)
    except ValueError:
        raise InputError(
            f"value {original!r} is not understood; use off, a multiple such as x2 or 0.5x, or an activation >= 0"
        ) from None
    if not np.isfinite(number) or number < 0:
        raise InputError(f"value {original!r}: use a finite number >= 0")
    return number


def resolve_concept(concept: int | str, table: pd.DataFrame | None, n_concepts: int) -> int:
    """Return the concept id named by ``concept`` (an id, or a label of the concept table)."""
    if isinstance(concept, int | np.integer) or (isinstance(concept, str) and concept.strip().isdigit()):
        cid = int(concept)
        if not 0 <= cid < n_concepts:
            raise InputError(f"unknown concept {concept!r}; ids run from 0 to {n_concepts - 1}")
        return cid
    if table is not None and "label" in table:
        labels = table["label"].astype(str)
        hits = [int(i) for i, label in labels.items() if label.lower() == str(concept).strip().lower()]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            raise InputError(f"label {concept!r} names concepts {hits[:5]}; pass an id")
    raise InputError(f"unknown concept {concept!r}; pass an id between 0 and {n_concepts - 1} or an exact label")


def select_cells(
    adata: AnnData,
    cells: str | Sequence[int] | np.ndarray | None,
    *,
    labels_key: str | None,
    active: np.ndarray,
    default_active: bool,
) -> tuple[np.ndarray, str]:
    """Rows of the chosen cells and a description of the choice.

    ``cells`` is ``None`` (the cells where the concept is active when ``default_active``, else every cell),
    a cell type of ``obs[labels_key]``, a pandas query on ``obs`` (``"cell_type == 'NK' and gate == 'CD56+'"``),
    a boolean mask or row numbers.
    """
    if cells is None:
        rows = np.flatnonzero(active) if default_active else np.arange(adata.n_obs)
        return rows, "active" if default_active else "all"
    if isinstance(cells, str):
        if labels_key is not None and labels_key in adata.obs:
            labels = adata.obs[labels_key].astype(str).to_numpy()
            if cells in set(labels):
                return np.flatnonzero(labels == cells), cells
        try:
            chosen = adata.obs.assign(_row=np.arange(adata.n_obs)).query(cells)["_row"].to_numpy()
        except Exception as error:  # pandas raises many types for a bad query
            types = sorted(set(adata.obs[labels_key].astype(str)))[:8] if labels_key in adata.obs else []
            hint = f"cell types: {', '.join(types)}" if types else f"obs columns: {', '.join(adata.obs.columns[:8])}"
            raise InputError(
                f"--cells {cells!r} is neither a cell type of obs[{labels_key!r}] nor a query on obs ({hint})"
            ) from error
        return np.asarray(chosen, dtype=np.int64), cells
    array = np.asarray(cells)
    if array.dtype == bool:
        if array.shape != (adata.n_obs,):
            raise InputError(f"cells mask has {array.size} entries for {adata.n_obs} cells")
        return np.flatnonzero(array), f"{int(array.sum())} cells"
    rows = array.astype(np.int64).ravel()
    if rows.size and (rows.min() < 0 or rows.max() >= adata.n_obs):
        raise InputError(f"cells: row numbers must lie between 0 and {adata.n_obs - 1}")
    return rows, f"{rows.size} cells"
