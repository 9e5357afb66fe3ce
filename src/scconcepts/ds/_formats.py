"""Tell which format a path holds from its name, and check that its content agrees."""

from __future__ import annotations

from pathlib import Path

from scconcepts._errors import InputError

H5AD, ZARR, TENX_H5, TENX_MTX, TABLE = "h5ad", "zarr", "10x-h5", "10x-mtx", "table"

#: Field separator of each table extension (before an optional ``.gz``).
TABLE_SEPARATORS = {".csv": ",", ".tsv": "\t", ".tab": "\t", ".txt": "\t"}

SUPPORTED = ".h5ad, .zarr, 10x .h5, a 10x mtx folder, .csv/.tsv/.txt (optionally .gz)"

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_MTX_NAMES = ("matrix.mtx", "matrix.mtx.gz")


def _suffix(path: Path) -> str:
    """Return the format suffix, skipping a final ``.gz`` (``x.csv.gz`` -> ``.csv``)."""
    name = path.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    return Path(name).suffix


def table_separator(path: Path) -> str:
    """Return the field separator of a table path (``,`` for ``.csv[.gz]``, tab otherwise)."""
    return TABLE_SEPARATORS[_suffix(path)]


def is_hdf5(path: Path) -> bool:
    """Return whether ``path`` starts with the HDF5 signature (at offset 0 or a user-block offset)."""
    with open(path, "rb") as handle:
        for offset in (0, 512, 1024, 2048):
            handle.seek(offset)
            if handle.read(8) == _HDF5_SIGNATURE:
                return True
    return False


def _head(path: Path) -> str:
    with open(path, "rb") as handle:
        start = handle.read(24)
    return start.decode("ascii", errors="replace").replace("\n", " ").replace("\r", " ").strip()


def is_zarr_store(path: Path) -> bool:
    """Return whether ``path`` is a directory holding zarr (v2 or v3) group metadata."""
    return path.is_dir() and any((path / name).is_file() for name in (".zgroup", "zarr.json", ".zattrs"))


def mtx_folder(path: Path) -> Path | None:
    """Return the 10x mtx folder that ``path`` is or lies in (a ``matrix.mtx[.gz]`` path), else ``None``."""
    if path.is_dir() and any((path / name).is_file() for name in _MTX_NAMES):
        return path
    if path.is_file() and path.name.lower() in _MTX_NAMES:
        return path.parent
    return None


def detect_format(path: Path) -> str:
    """Return the format of ``path`` after checking that it exists and that its content matches its name.

    Raises
    ------
    InputError
        Missing path, unknown extension, or content that is not what the extension says.

    """
    if not path.exists():
        raise InputError(f"{path} does not exist; check the path (supported: {SUPPORTED})")
    suffix = _suffix(path)
    if suffix == ".zarr" or (path.is_dir() and is_zarr_store(path)):
        if not is_zarr_store(path):
            raise InputError(f"{path} is not a zarr store (no .zgroup or zarr.json inside); give an AnnData .zarr")
        return ZARR
    folder = mtx_folder(path)
    if folder is not None:
        return TENX_MTX
    if path.is_dir():
        raise InputError(
            f"{path} is a folder without matrix.mtx(.gz) or zarr metadata; give a file or a 10x mtx folder "
            f"(supported: {SUPPORTED})"
        )
    if suffix in (".h5ad", ".h5", ".hdf5"):
        if not is_hdf5(path):
            kind = "an .h5ad (AnnData)" if suffix == ".h5ad" else "a 10x .h5"
            raise InputError(
                f"{path} is not an HDF5 file (it starts with {_head(path)!r}), so it cannot be {kind} file; "
                "give the right file or fix its extension"
            )
        return H5AD if suffix == ".h5ad" else TENX_H5
    if suffix in TABLE_SEPARATORS:
        return TABLE
    raise InputError(f"{path}: unknown file type {suffix or '(no extension)'!r}; supported: {SUPPORTED}")
