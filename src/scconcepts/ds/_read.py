"""``scconcepts.ds.read``: read a user's expression file into a validated cells x genes AnnData."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from anndata import AnnData

from scconcepts._errors import InputError
from scconcepts.ds import _formats as fmt
from scconcepts.ds._counts import RAW, count_problem
from scconcepts.ds._orientation import genes_as_rows_problem
from scconcepts.ds._readers import read_10x_h5_file, read_10x_mtx_folder, read_h5ad_file, read_zarr_store
from scconcepts.ds._table import read_table
from scconcepts.ds._validate import validate

logger = logging.getLogger(__name__)


def _select_layer(adata: AnnData, layer: str, source: str) -> AnnData:
    """Return ``adata`` with ``layer`` (or ``raw.X`` for ``"raw"``) moved into ``X``."""
    if layer in adata.layers:
        adata.X = adata.layers[layer]
        return adata
    if layer == RAW and adata.raw is not None:
        selected = adata.raw.to_adata()
        adata.raw = None
        return selected
    have = ", ".join(repr(name) for name in adata.layers.keys()) or "none"
    raw = ", or 'raw' for adata.raw" if adata.raw is not None else ""
    raise InputError(f"{source} has no layer {layer!r} (layers: {have}{raw}); pass one of them or no layer")


def _as_csr_float32(matrix: object) -> sp.csr_matrix:
    if sp.issparse(matrix):
        csr = matrix.tocsr()
        return csr if csr.dtype == np.float32 else csr.astype(np.float32)
    return sp.csr_matrix(np.asarray(matrix, dtype=np.float32))


def _check_orientation(adata: AnnData, path: Path, kind: str) -> None:
    """Refuse a matrix that looks like genes x cells, saying how to read it the right way round."""
    problem = genes_as_rows_problem(adata)
    if problem is None:
        return
    shape = f"read as {adata.n_obs} cells x {adata.n_vars} genes"
    if kind == fmt.TABLE:
        fix = "if genes are its rows, pass --transpose (Python: transpose=True); if not, transpose=False"
    else:
        fix = "write it with cells as rows (adata.T in Python)"
    raise InputError(f"{path} looks transposed: {problem}; {shape}. {fix}")


def read(
    path: str | os.PathLike[str],
    *,
    layer: str | None = None,
    transpose: bool | None = None,
    make_unique: bool = True,
    backed: bool = False,
) -> AnnData:
    """Read an expression file into a cells x genes AnnData and check that it can be used.

    Supported: ``.h5ad``, ``.zarr`` (AnnData store), 10x Genomics ``.h5`` (:func:`scanpy.read_10x_h5`),
    a 10x mtx folder or its ``matrix.mtx[.gz]`` (:func:`scanpy.read_10x_mtx`), and ``.csv``/``.tsv``/``.txt``
    tables (optionally gzipped) with cell ids in the first column and gene names in the header.

    Parameters
    ----------
    path
        File or folder.
    layer
        Move this layer into ``X`` (``"raw"``: ``adata.raw``), e.g. ``"counts"`` when ``X`` is normalised.
    transpose
        For tables only: ``True`` when rows are genes and columns cells; ``False`` reads rows as cells.
        ``None`` (default) reads rows as cells but refuses a matrix whose gene names look like cell
        barcodes or ids while its cell names do not (genes as rows), saying so.
    make_unique
        Make duplicate gene names unique (originals kept in ``var["gene_name"]``) instead of raising.
    backed
        ``.h5ad`` and ``.zarr`` only: leave the matrix on disk, ``X`` a dask array of cell chunks read when
        needed (:mod:`scconcepts.ds._lazy`), for matrices larger than memory. The values are checked chunk
        by chunk; the file must stay in place while the AnnData is used.

    Returns
    -------
    AnnData with a float32 CSR ``X`` (cells x genes), unique names and finite values.
    ``uns["source"]`` holds the path. Whether ``X`` holds raw counts is logged; see :func:`check_counts`.

    Raises
    ------
    InputError
        Missing path, unknown extension, content not matching the extension, no cells, no genes,
        duplicate gene names (with ``make_unique=False``), NaN/inf values, unknown layer.

    """
    path = Path(path).expanduser()
    kind = fmt.detect_format(path)
    if backed:
        return _read_lazily(path, kind, layer=layer, make_unique=make_unique)
    if transpose and kind != fmt.TABLE:
        raise InputError(f"transpose applies to CSV/TSV tables only, not to {path}; leave it unset")
    if kind == fmt.H5AD:
        adata = read_h5ad_file(path)
    elif kind == fmt.ZARR:
        adata = read_zarr_store(path)
    elif kind == fmt.TENX_H5:
        adata = read_10x_h5_file(path)
    elif kind == fmt.TENX_MTX:
        adata = read_10x_mtx_folder(fmt.mtx_folder(path))
    else:
        adata = read_table(path, sep=fmt.table_separator(path), transpose=bool(transpose))
    if layer is not None:
        adata = _select_layer(adata, layer, str(path))
    if transpose is None:
        _check_orientation(adata, path, kind)
    validate(adata, source=str(path), make_unique=make_unique)
    adata.X = _as_csr_float32(adata.X)
    adata.uns["source"] = str(path)
    problem = count_problem(adata.X)
    if problem is None:
        logger.info("read %s: %d cells x %d genes, raw counts in X", path, *adata.shape)
    else:
        logger.info("read %s: %d cells x %d genes; X is not raw counts (%s)", path, *adata.shape, problem)
    return adata


def _read_lazily(path: Path, kind: str, *, layer: str | None, make_unique: bool) -> AnnData:
    """``read(..., backed=True)``: the matrix as a dask array of cell chunks, checked chunk by chunk."""
    from scconcepts.ds._lazy import read_lazy, scan
    from scconcepts.ds._validate import unique_names

    if kind not in (fmt.H5AD, fmt.ZARR):
        raise InputError(f"only .h5ad files and .zarr stores can be read lazily (backed), not {path}; convert it")
    adata = read_lazy(path, layer=layer)
    if adata.n_obs == 0 or adata.n_vars == 0:
        raise InputError(f"{path} has {adata.n_obs} cells x {adata.n_vars} genes; give a file with data")
    unique_names(adata, source=str(path), make_unique=make_unique)
    problem = scan(adata, source=str(path) if layer is None else f"{path} (layer {layer!r})")
    adata.uns["source"] = str(path)
    logger.info(
        "opened %s lazily: %d cells x %d genes, read by chunks of %d cells; X %s",
        path, *adata.shape, adata.X.chunks[0][0],
        "holds raw counts" if problem is None else f"is not raw counts ({problem})",
    )  # fmt: skip
    return adata
