"""Read a delimited text table (CSV/TSV, optionally gzipped) of expression values into an AnnData.

Wide tables (tens of thousands of gene columns) are slow in pandas because of its per-column
work; numeric tables are parsed here with :func:`numpy.loadtxt` instead (about 7x faster on
celltypist's 559 x 32,786 sample), falling back to pandas for quoted or missing values.
"""

from __future__ import annotations

import gzip
import io
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from anndata import AnnData

from scconcepts._errors import InputError

logger = logging.getLogger(__name__)


def _read_text(path: Path) -> str:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            text = handle.read()
    except (UnicodeDecodeError, gzip.BadGzipFile, EOFError) as error:
        raise InputError(
            f"{path} is not a text table ({type(error).__name__}); give a CSV/TSV file or fix its extension"
        ) from None
    if "\x00" in text[:65536]:
        raise InputError(f"{path} holds binary data, not a text table; give a CSV/TSV file or fix its extension")
    return text


def _names(line: str, sep: str) -> list[str]:
    return [field.strip().strip('"').strip("'") for field in line.split(sep)]


def _fast(lines: list[str], sep: str) -> tuple[list[str], np.ndarray] | None:
    """Parse rows of ``id<sep>v1<sep>v2...`` with numpy; return ``None`` when numpy cannot."""
    ids, bodies = [], []
    for line in lines:
        cut = line.find(sep)
        if cut < 0:
            return None
        ids.append(line[:cut].strip().strip('"'))
        bodies.append(line[cut + 1 :])
    try:
        values = np.loadtxt(bodies, delimiter=sep, dtype=np.float32, ndmin=2, comments=None)
    except ValueError:
        return None
    return ids, values


def _slow(text: str, sep: str, path: Path) -> tuple[list[str], list[str], np.ndarray]:
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, index_col=0, engine="c")
    except (pd.errors.ParserError, ValueError) as error:
        message = str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
        raise InputError(f"{path} is not a regular table ({message}); every row needs the same columns") from None
    text_columns = [name for name, dtype in frame.dtypes.items() if dtype.kind not in "biuf"]
    if text_columns:
        first = text_columns[0]
        sample = frame[first].dropna().astype(str)
        example = f" (e.g. {sample.iloc[0]!r})" if len(sample) else ""
        raise InputError(
            f"{path}: column {first!r} holds text{example}; a table must hold cell ids in its first column "
            "and numbers in all others (drop metadata columns)"
        )
    return [str(i) for i in frame.index], [str(c) for c in frame.columns], frame.to_numpy(dtype=np.float32)


def read_table(path: Path, *, sep: str, transpose: bool = False) -> AnnData:
    """Read a table whose first column holds row names and first line holds column names.

    Parameters
    ----------
    path
        ``.csv``, ``.tsv``, ``.txt`` file, optionally ``.gz``.
    sep
        Field separator; when the header lacks it but has the other of tab and comma, that one is used.
    transpose
        ``False``: rows are cells, columns genes. ``True``: rows are genes, columns cells.

    Returns
    -------
    AnnData with float32 CSR ``X``.

    """
    text = _read_text(path)
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise InputError(f"{path} is empty; give a table with a header line and one row per cell")
    if sep not in lines[0]:
        other = "," if sep == "\t" else "\t"
        if other in lines[0]:
            logger.info("%s: the header has no %r but has %r; using %r as separator", path, sep, other, other)
            sep = other
    header = _names(lines[0], sep)
    rows = lines[1:]
    parsed = _fast(rows, sep) if rows else ([], np.zeros((0, max(0, len(header) - 1)), dtype=np.float32))
    if parsed is None:
        logger.debug("%s: numeric fast path failed, reading with pandas", path)
        row_names, column_names, values = _slow(text, sep, path)
    else:
        row_names, values = parsed
        n_values = values.shape[1]
        if len(header) == n_values + 1:
            column_names = header[1:]
        elif len(header) == n_values:
            column_names = header
        else:
            raise InputError(
                f"{path}: the header has {len(header)} names but rows have {n_values} values after the row id; "
                "the header must name every column"
            )
    matrix = sp.csr_matrix(values.T if transpose else values)
    obs_names, var_names = (column_names, row_names) if transpose else (row_names, column_names)
    adata = AnnData(
        X=matrix,
        obs=pd.DataFrame(index=pd.Index(obs_names, dtype=str)),
        var=pd.DataFrame(index=pd.Index(var_names, dtype=str)),
    )
    return adata
