"""Find where an AnnData keeps raw counts (non-negative integers): ``X``, a layer or ``raw``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from anndata import AnnData

from scconcepts._errors import InputError

#: Layer names tried, in this order, when ``X`` does not hold counts.
COUNT_LAYERS = ("counts", "raw_counts", "count", "raw", "umi", "umis", "spliced")

#: Name that selects ``adata.raw.X`` wherever a layer name is accepted.
RAW = "raw"

_CHUNK = 1 << 22


@dataclass(frozen=True)
class Counts:
    """Where an AnnData keeps its raw counts.

    Attributes
    ----------
    source
        Human-readable place: ``"X"``, ``"layers['counts']"`` or ``"raw.X"``.
    layer
        The layer name, or ``None`` when the counts are in ``X`` or ``raw.X``.
    use_raw
        Whether the counts are in ``adata.raw.X`` (whose genes are ``adata.raw.var_names``).

    """

    source: str
    layer: str | None = None
    use_raw: bool = False

    @property
    def in_x(self) -> bool:
        """Whether ``X`` itself holds the counts."""
        return self.layer is None and not self.use_raw

    def matrix(self, adata: AnnData) -> Any:
        """Return the counts matrix of ``adata`` (cells x genes; for ``raw``, genes of ``adata.raw``)."""
        if self.use_raw:
            return adata.raw.X
        return adata.X if self.layer is None else adata.layers[self.layer]

    def var_names(self, adata: AnnData) -> Any:
        """Return the gene names of the columns of :meth:`matrix`."""
        return adata.raw.var_names if self.use_raw else adata.var_names


def _values(matrix: Any) -> np.ndarray:
    """Return the stored values of a matrix (non-zeros of a sparse one) as a flat array."""
    if sp.issparse(matrix):
        return np.asarray(matrix.data)
    return np.asarray(matrix).reshape(-1)


def count_problem(matrix: Any) -> str | None:
    """Say why ``matrix`` does not hold raw counts, or return ``None`` when it does.

    Parameters
    ----------
    matrix
        Dense array or scipy sparse matrix.

    Returns
    -------
    ``None`` for non-negative integer values; otherwise a short reason naming an offending value.

    """
    if matrix is None:
        return "it is empty"
    values = _values(matrix)
    if values.dtype.kind in "iu":
        if values.size and values.min() < 0:
            return f"it holds negative values (e.g. {values.min()})"
        return None
    if values.dtype.kind == "b":
        return None
    if values.dtype.kind != "f":
        return f"it holds {values.dtype} values, not numbers"
    for start in range(0, values.size, _CHUNK):
        chunk = values[start : start + _CHUNK]
        bad = ~np.isfinite(chunk)
        if bad.any():
            return f"it holds non-finite values (e.g. {chunk[bad][0]})"
        negative = chunk < 0
        if negative.any():
            return f"it holds negative values (e.g. {chunk[negative][0]:.4g}), so it looks scaled or centred"
        fractional = np.abs(chunk - np.rint(chunk)) > 1e-4
        if fractional.any():
            return f"it holds non-integer values (e.g. {chunk[fractional][0]:.4g}), so it looks normalised"
    return None


def is_counts(matrix: Any) -> bool:
    """Return whether ``matrix`` holds non-negative integer values (raw counts)."""
    return count_problem(matrix) is None


def _candidates(adata: AnnData) -> list[Counts]:
    found = [Counts("X")]
    layers = list(adata.layers.keys())
    ordered = [name for name in COUNT_LAYERS if name in layers] + [n for n in layers if n not in COUNT_LAYERS]
    found += [Counts(f"layers[{name!r}]", layer=name) for name in ordered]
    if adata.raw is not None:
        found.append(Counts("raw.X", use_raw=True))
    return found


def _named(adata: AnnData, layer: str) -> Counts:
    if layer in adata.layers:
        return Counts(f"layers[{layer!r}]", layer=layer)
    if layer == RAW and adata.raw is not None:
        return Counts("raw.X", use_raw=True)
    if layer == "X":
        return Counts("X")
    have = ", ".join(repr(name) for name in adata.layers.keys()) or "none"
    raw = "; adata.raw is set (use 'raw')" if adata.raw is not None else ""
    raise InputError(f"layer {layer!r} not found (layers: {have}{raw}); pass one of them or leave the layer unset")


def check_counts(adata: AnnData, *, layer: str | None = None) -> Counts:
    """Find the raw counts of ``adata``: ``X`` if it holds them, else a layer, else ``raw.X``.

    Models such as scVI need non-negative integer counts. With ``layer=None``, ``X`` is checked
    first, then the layers (``counts`` and similar names first), then ``adata.raw``.

    Parameters
    ----------
    adata
        Cells x genes AnnData.
    layer
        Check only this layer (``"raw"`` means ``adata.raw.X``, ``"X"`` means ``X``).

    Returns
    -------
    Where the counts are; ``.in_x`` says whether ``X`` holds them, ``.matrix(adata)`` returns them.

    Raises
    ------
    InputError
        When the requested layer does not exist or holds no counts, or when no counts are found.

    """
    if layer is not None:
        where = _named(adata, layer)
        problem = count_problem(where.matrix(adata))
        if problem is not None:
            raise InputError(f"{where.source} does not hold raw counts: {problem}; pass the layer that has raw counts")
        return where
    reasons = []
    for where in _candidates(adata):
        problem = count_problem(where.matrix(adata))
        if problem is None:
            return where
        reasons.append(f"{where.source}: {problem}")
    raise InputError(
        "no raw counts found (" + "; ".join(reasons) + "); scconcepts needs non-negative integer counts: "
        "give a file with raw counts, or store them in layers['counts'] and pass that layer"
    )


def require_counts(adata: AnnData, *, who: str, layer: str | None = None) -> None:
    """Refuse, in one line, data whose ``X`` (or ``layers[layer]``) does not hold raw counts.

    Meant to run right after the cells are read, before anything slow; when raw counts are found
    elsewhere (a layer, ``raw``) the message names the layer to pass.

    Parameters
    ----------
    adata
        Cells x genes AnnData (in memory).
    who
        What needs the counts, for the message (e.g. ``"scVI"``).
    layer
        The layer that should hold them; ``None`` is ``X``.

    Raises
    ------
    InputError
        When the values are not non-negative integers.

    """
    where = "X" if layer is None else f"layers[{layer!r}]"
    problem = count_problem(adata.X if layer is None else adata.layers[layer])
    if problem is None:
        return
    try:
        found = check_counts(adata)
    except InputError:
        found = None
    if found is not None and not found.in_x and found.source != where:
        name = RAW if found.use_raw else found.layer
        hint = f"{found.source} holds raw counts: pass it (--input-layer {name}, input_layer={name!r})"
    else:
        hint = "give a file with raw counts, or store them in a layer and pass it (--input-layer NAME)"
    raise InputError(f"{who} needs raw integer counts but {where} does not hold them: {problem}; {hint}")
