"""Cells read lazily: the expression matrix stays on disk and is read by chunks of cells.

An ``.h5ad`` file or AnnData ``.zarr`` store is opened with everything but the expression matrix in memory
(``obs``, ``var``, ``obsm``, ``uns``); ``X`` (or the chosen layer) becomes a dask array of
:data:`CHUNK_CELLS` rows (:func:`anndata.experimental.read_elem_lazy`). Steps that need counts read them
chunk by chunk (:func:`row_chunks`) or only the rows they need (:func:`read_rows`), so a matrix larger
than memory can be used. :func:`choose_lazy` decides from the matrix's size when the user does not.
"""

from __future__ import annotations

import logging
import resource
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from anndata import AnnData

from scconcepts._errors import InputError

logger = logging.getLogger(__name__)

#: Cells per chunk of a lazily read matrix (fewer for a wide dense matrix: see :data:`CHUNK_BYTES`).
CHUNK_CELLS = 10_000
#: Most bytes one chunk of a dense matrix holds once read.
CHUNK_BYTES = 64 * 2**20
#: Read lazily when loading the matrix would take more than this share of the memory at hand.
LAZY_SHARE = 0.25
_SOURCES: dict[str, tuple[str, str]] = {}  # dask array name -> (path, element) for workers that reopen the file


def is_lazy(adata: AnnData) -> bool:
    """Whether ``adata.X`` is a lazily read (dask) matrix."""
    import dask.array as da

    return isinstance(adata.X, da.Array)


def memory_at_hand() -> int:
    """Bytes this process may still allocate: available RAM, capped by an address-space or data rlimit."""
    import psutil

    limit = psutil.virtual_memory().available
    used = psutil.Process().memory_info()
    for kind, in_use in ((resource.RLIMIT_AS, used.vms), (resource.RLIMIT_DATA, used.data)):
        soft, _ = resource.getrlimit(kind)
        if soft != resource.RLIM_INFINITY:
            limit = min(limit, max(0, soft - in_use))
    return int(limit)


def _open(path: Path) -> Any:
    """The file's root group (h5py for ``.h5ad``, zarr for a ``.zarr`` store), kept open for lazy reads."""
    if path.is_dir() or path.suffix == ".zarr":
        import zarr

        return zarr.open(str(path), mode="r")
    import h5py

    return h5py.File(path, "r")


def _element(root: Any, layer: str | None, path: Path) -> tuple[Any, str]:
    name = "X" if layer is None else f"layers/{layer}"
    if layer == "raw":
        name = "raw/X"
    if name not in root:
        have = ", ".join(repr(k) for k in root["layers"].keys()) if "layers" in root else "none"
        what = "no expression matrix X" if layer is None else f"no layer {layer!r} (layers: {have})"
        raise InputError(f"{path} has {what}; give a file with expression values or another layer")
    return root[name], name


def stored_size(path: str | Path, *, layer: str | None = None) -> int:
    """Bytes the expression matrix takes once loaded as stored (dense: cells x genes; sparse: values + indices)."""
    path = Path(path)
    root = _open(path)
    try:
        elem, _ = _element(root, layer, path)
        if hasattr(elem, "shape") and hasattr(elem, "dtype"):  # a dense array
            return int(np.prod(elem.shape)) * elem.dtype.itemsize
        data, indices = elem["data"], elem["indices"]
        return int(data.shape[0]) * (data.dtype.itemsize + indices.dtype.itemsize)
    finally:
        if hasattr(root, "close"):
            root.close()


def choose_lazy(path: str | Path, backed: bool | None, *, layer: str | None = None) -> bool:
    """Whether to read ``path`` lazily: as the user said (``backed``), else when it would not fit; logged.

    With ``backed=None`` the matrix is read lazily when its loaded size exceeds :data:`LAZY_SHARE` of
    :func:`memory_at_hand` (the pipeline holds a few copies of what it loads).
    """
    from scconcepts.ds import _formats as fmt

    if fmt.detect_format(Path(path)) not in (fmt.H5AD, fmt.ZARR):
        if backed:
            raise InputError(f"only .h5ad files and .zarr stores can be read lazily (--backed), not {path}")
        return False
    if backed is not None:
        logger.info("expression matrix %s (--%sbacked)", "read lazily by chunks of cells" if backed else "loaded",
                    "" if backed else "no-")  # fmt: skip
        return backed
    size, budget = stored_size(path, layer=layer), memory_at_hand()
    lazy = size > LAZY_SHARE * budget
    logger.info(
        "expression matrix: %.2f GiB loaded, %.2f GiB of memory at hand: %s",
        size / 2**30,
        budget / 2**30,
        "read lazily by chunks of cells" if lazy else "loaded (--backed reads it lazily)",
    )
    return lazy


def read_lazy(path: str | Path, *, layer: str | None = None, chunk_cells: int | None = None) -> AnnData:
    """Open an ``.h5ad``/``.zarr`` with ``X`` (or ``layer``, moved into ``X``) as a dask array of cell chunks.

    ``obs``, ``var``, ``obsm`` and ``uns`` are read into memory; the matrix is read when a step asks for
    its chunks. The file must stay in place while the AnnData is used.
    """
    from anndata.experimental import read_elem_lazy
    from anndata.io import read_elem

    path = Path(path)
    root = _open(path)
    elem, name = _element(root, layer, path)
    var_group = "raw/var" if name == "raw/X" else "var"
    var = read_elem(root[var_group])
    n_vars = len(var)
    chunk_cells = chunk_cells or CHUNK_CELLS
    if hasattr(elem, "dtype"):  # dense on disk: a chunk of rows is read whole
        chunk_cells = max(1, min(chunk_cells, CHUNK_BYTES // max(1, n_vars * elem.dtype.itemsize)))
    matrix = read_elem_lazy(elem, chunks=(chunk_cells, n_vars))
    if matrix.ndim != 2 or matrix.shape[1] != n_vars:
        raise InputError(f"{path}: the matrix {name} is {matrix.shape}, not cells x {n_vars} genes")
    parts = {key: read_elem(root[key]) for key in ("obs", "obsm", "uns") if key in root}
    adata = AnnData(X=matrix, obs=parts.get("obs"), var=var, obsm=parts.get("obsm"), uns=parts.get("uns"))
    _SOURCES[matrix.name] = (str(path), name)
    return adata


def source_of(adata: AnnData) -> tuple[str, str] | None:
    """``(path, element)`` a lazily read ``adata.X`` comes from (for workers that open the file themselves)."""
    return _SOURCES.get(getattr(adata.X, "name", ""))


def _as_csr(block: Any) -> sp.csr_matrix:
    if sp.issparse(block):
        csr = block.tocsr()
        return csr if csr.dtype == np.float32 else csr.astype(np.float32)
    return sp.csr_matrix(np.asarray(block, dtype=np.float32))


def row_chunks(adata: AnnData) -> Iterator[tuple[int, sp.csr_matrix]]:
    """``(first row, float32 CSR block)`` for each chunk of cells of a lazily read ``adata.X``, in order."""
    matrix = adata.X
    start = 0
    for i, rows in enumerate(matrix.chunks[0]):
        yield start, _as_csr(matrix.blocks[i].compute(scheduler="synchronous"))
        start += rows


def read_rows(adata: AnnData, rows: np.ndarray) -> sp.csr_matrix:
    """The given rows (any order, repeats allowed) of a lazily read ``adata.X`` as a float32 CSR, one pass."""
    rows = np.asarray(rows, dtype=np.int64)
    if rows.size and (rows.min() < 0 or rows.max() >= adata.n_obs):
        raise IndexError(f"rows outside 0..{adata.n_obs - 1}")
    wanted = np.unique(rows)
    blocks, start = [], 0
    for i, size in enumerate(adata.X.chunks[0]):
        local = wanted[(wanted >= start) & (wanted < start + size)] - start
        if local.size:
            blocks.append(_as_csr(adata.X.blocks[i].compute(scheduler="synchronous"))[local])
        start += size
    stacked = sp.vstack(blocks, format="csr") if blocks else sp.csr_matrix((0, adata.n_vars), dtype=np.float32)
    return stacked[np.searchsorted(wanted, rows)]


def file_rows(source: tuple[str, str], start: int, stop: int) -> sp.csr_matrix:
    """Rows ``start:stop`` of the matrix ``source`` (``(path, element)``) read straight from the file."""
    from anndata.io import sparse_dataset

    path, name = source
    root = _open(Path(path))
    try:
        elem = root[name]
        if hasattr(elem, "shape") and hasattr(elem, "dtype"):
            return _as_csr(elem[start:stop])
        return _as_csr(sparse_dataset(elem)[start:stop])
    finally:
        if hasattr(root, "close"):
            root.close()


def scan(adata: AnnData, *, source: str) -> str | None:
    """Check a lazily read matrix chunk by chunk; return why it is not raw counts (``None``: counts).

    Raises
    ------
    InputError
        A non-finite value (with its cell and gene), or no non-zero value at all.

    """
    any_nonzero, problem = False, None
    for start, block in row_chunks(adata):
        bad = np.flatnonzero(~np.isfinite(block.data))
        if bad.size:
            row = int(np.searchsorted(block.indptr, bad[0], side="right") - 1)
            raise InputError(
                f"{source} holds a non-finite value ({block.data[bad[0]]}) at cell "
                f"{adata.obs_names[start + row]!r}, gene {adata.var_names[block.indices[bad[0]]]!r}; "
                "replace NaN/inf values (e.g. by 0) or remove those cells"
            )
        any_nonzero = any_nonzero or bool(np.any(block.data != 0))
        if problem is None and block.nnz:
            if (block.data < 0).any():
                problem = f"it holds negative values (e.g. {block.data[block.data < 0][0]})"
            elif not np.array_equal(block.data, np.round(block.data)):
                problem = "it holds non-integer values"
    if not any_nonzero:
        raise InputError(
            f"{source} holds only zeros ({adata.n_obs} cells x {adata.n_vars} genes): no gene is detected in any "
            "cell; check that the file (or --layer) holds the expression values"
        )
    return problem
