"""Checks that an AnnData read from a user's file can be used: cells, genes, names, finite values, not all zero."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import scipy.sparse as sp
from anndata import AnnData

from scconcepts._errors import InputError

logger = logging.getLogger(__name__)

_CHUNK = 1 << 22


def _first_non_finite(matrix: Any) -> tuple[int, int, float] | None:
    """Return (row, column, value) of the first NaN/inf in ``matrix``, or ``None``."""
    if sp.issparse(matrix):
        csr = matrix.tocsr()
        data = np.asarray(csr.data)
        if data.dtype.kind != "f":
            return None
        for start in range(0, data.size, _CHUNK):
            bad = np.flatnonzero(~np.isfinite(data[start : start + _CHUNK]))
            if bad.size:
                index = start + int(bad[0])
                row = int(np.searchsorted(csr.indptr, index, side="right") - 1)
                return row, int(csr.indices[index]), float(data[index])
        return None
    dense = np.asarray(matrix)
    if dense.dtype.kind != "f":
        return None
    step = max(1, _CHUNK // max(1, dense.shape[1]))
    for start in range(0, dense.shape[0], step):
        block = dense[start : start + step]
        bad = np.argwhere(~np.isfinite(block))
        if bad.size:
            row, column = (int(v) for v in bad[0])
            return start + row, column, float(block[row, column])
    return None


def _all_zero(matrix: Any) -> bool:
    """Whether ``matrix`` holds no non-zero value (NaN counts as non-zero: it is reported on its own)."""
    if sp.issparse(matrix):
        return not np.any(np.asarray(matrix.data) != 0)
    dense = np.asarray(matrix)
    step = max(1, _CHUNK // max(1, dense.shape[1]))
    return not any(np.any(dense[start : start + step] != 0) for start in range(0, dense.shape[0], step))


def check_not_all_zero(matrix: Any, *, source: str) -> None:
    """Refuse an expression matrix without a single non-zero value (no model can learn from it).

    Raises
    ------
    InputError
        Saying how many cells and genes hold only zeros.

    """
    if _all_zero(matrix):
        n_cells, n_genes = matrix.shape
        raise InputError(
            f"{source} holds only zeros ({n_cells} cells x {n_genes} genes): no gene is detected in any cell; "
            "check that the file (or --layer) holds the expression values"
        )


def _unique_gene_names(adata: AnnData, *, source: str, make_unique: bool) -> None:
    names = adata.var_names
    empty = names.isna() | (names.astype(str).str.strip() == "")
    if empty.any():
        raise InputError(
            f"{source} has {int(empty.sum())} empty gene name(s) (first at column {int(np.argmax(empty))}); "
            "give every gene a name"
        )
    duplicated = names.duplicated()
    if not duplicated.any():
        return
    examples = ", ".join(repr(str(n)) for n in names[duplicated].unique()[:3])
    if not make_unique:
        raise InputError(
            f"{source} has {int(duplicated.sum())} duplicate gene name(s) ({examples}); "
            "make them unique (e.g. AnnData.var_names_make_unique()) or read with make_unique=True"
        )
    adata.var["gene_name"] = names.astype(str)
    adata.var_names_make_unique()
    logger.warning(
        "%s: %d duplicate gene names (%s) were made unique with suffixes -1, -2, ...; originals in var['gene_name']",
        source,
        int(duplicated.sum()),
        examples,
    )


def unique_names(adata: AnnData, *, source: str, make_unique: bool = True) -> None:
    """Check the gene names (see :func:`validate`) and make duplicate cell names unique, in place."""
    _unique_gene_names(adata, source=source, make_unique=make_unique)
    if adata.obs_names.duplicated().any():
        logger.warning("%s: duplicate cell names were made unique", source)
        adata.obs_names_make_unique()


def validate(adata: AnnData, *, source: str, make_unique: bool = True) -> AnnData:
    """Check ``adata`` in place and return it: cells and genes present, names usable, values finite.

    Parameters
    ----------
    adata
        Cells x genes AnnData just read.
    source
        What the data came from (a path), used in messages.
    make_unique
        Make duplicate gene names unique (``-1``, ``-2`` suffixes; originals kept in
        ``var["gene_name"]``) instead of raising. Duplicate cell names are always made unique.

    Returns
    -------
    The same AnnData.

    Raises
    ------
    InputError
        With a message that says what to fix.

    """
    n_cells, n_genes = adata.shape
    if n_cells == 0:
        raise InputError(
            f"{source} has no cells (0 x {n_genes}); give a file with data, or transpose it if cells are its columns"
        )
    if n_genes == 0:
        raise InputError(
            f"{source} has no genes ({n_cells} x 0); give a file with a gene-expression matrix, "
            "or transpose it if genes are its rows"
        )
    if adata.X is None:
        raise InputError(f"{source} has no expression matrix X; give a file with expression values")
    unique_names(adata, source=source, make_unique=make_unique)
    if not len(adata.layers) and adata.raw is None:  # else the values may be in a layer the model is told to read
        check_not_all_zero(adata.X, source=source)
    bad = _first_non_finite(adata.X)
    if bad is not None:
        row, column, value = bad
        raise InputError(
            f"{source} holds a non-finite value ({value}) at cell {adata.obs_names[row]!r}, "
            f"gene {adata.var_names[column]!r}; replace NaN/inf values (e.g. by 0) or remove those cells"
        )
    return adata
