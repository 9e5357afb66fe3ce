"""One reader per file format; each turns a reader's failure into an :class:`InputError`."""

from __future__ import annotations

import logging
from pathlib import Path

from anndata import AnnData

from scconcepts._errors import InputError

logger = logging.getLogger(__name__)

#: Files of a 10x mtx folder: Cell Ranger >= 3 (gzipped, ``features``) and older (plain, ``genes``).
MTX_V3 = ("matrix.mtx.gz", "features.tsv.gz", "barcodes.tsv.gz")
MTX_LEGACY = ("matrix.mtx", "genes.tsv", "barcodes.tsv")


def _reason(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


def read_h5ad_file(path: Path) -> AnnData:
    """Read an ``.h5ad`` file that is known to be HDF5."""
    import anndata

    try:
        return anndata.read_h5ad(path)
    except Exception as error:  # anndata raises many types for malformed files
        raise InputError(
            f"{path} is HDF5 but not a readable AnnData file ({_reason(error)}); "
            "give an .h5ad written by anndata or scanpy"
        ) from None


def read_zarr_store(path: Path) -> AnnData:
    """Read an AnnData zarr store."""
    import anndata

    try:
        return anndata.read_zarr(path)
    except Exception as error:
        raise InputError(f"{path} is not a readable AnnData zarr store ({_reason(error)})") from None


def read_10x_h5_file(path: Path) -> AnnData:
    """Read a 10x Genomics HDF5 matrix (Cell Ranger v2 or v3+), gene expression only."""
    import scanpy as sc

    try:
        return sc.read_10x_h5(path)
    except Exception as error:
        raise InputError(
            f"{path} is HDF5 but not a 10x Genomics matrix ({_reason(error)}); "
            "for an AnnData file use the .h5ad extension"
        ) from None


def read_10x_mtx_folder(folder: Path) -> AnnData:
    """Read a 10x mtx folder (``matrix.mtx.gz``, ``features.tsv.gz``, ``barcodes.tsv.gz`` or the plain v2 names)."""
    import scanpy as sc

    for layout in (MTX_V3, MTX_LEGACY):
        if all((folder / name).is_file() for name in layout):
            break
    else:
        have = sorted(p.name for p in folder.iterdir())
        raise InputError(
            f"{folder} is not a complete 10x mtx folder (it has {', '.join(have[:6]) or 'nothing'}); "
            f"it needs {', '.join(MTX_V3)} (or the uncompressed v2 names {', '.join(MTX_LEGACY)})"
        )
    try:
        return sc.read_10x_mtx(folder, make_unique=False)
    except Exception as error:
        raise InputError(f"{folder} holds a 10x mtx layout that cannot be read ({_reason(error)})") from None
