"""GO Biological Process with its DAG and human annotations, read from Bioconductor's SQLite files.

``scripts/install-go-db.sh`` puts ``GO.sqlite`` (Debian ``r-bioc-go.db``) and ``org.Hs.eg.sqlite``
(``r-bioc-org.hs.eg.db``) in a cache folder; this module reads them with :mod:`sqlite3`.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Iterable
from contextlib import closing
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy import sparse

from scconcepts._errors import InputError
from scconcepts.genesets._sets import GeneSets

logger = logging.getLogger(__name__)

ENV_VAR = "SCCONCEPTS_GO_DB"
GO_FILE = "GO.sqlite"
ORG_FILE = "org.Hs.eg.sqlite"
_LAYOUTS = ("", "GO.db/extdata", "org.Hs.eg.db/extdata", "usr/lib/R/site-library/GO.db/extdata",
            "usr/lib/R/site-library/org.Hs.eg.db/extdata")  # fmt: skip
#: Relations along which annotations propagate and ``elim`` walks (those topGO uses).
RELATIONS = ("isa", "part of")


def _default_dirs() -> list[Path]:
    dirs = []
    if os.environ.get(ENV_VAR):
        dirs.append(Path(os.environ[ENV_VAR]))
    for parent in Path(__file__).resolve().parents:  # a source checkout: <repo>/.cache/go-db
        if (parent / "pyproject.toml").is_file():
            dirs.append(parent / ".cache" / "go-db")
            break
    dirs += [Path.cwd() / ".cache" / "go-db", Path("/usr/lib/R/site-library")]
    return dirs


def _find(folder: Path, name: str) -> Path | None:
    for layout in _LAYOUTS:
        candidate = folder / layout / name
        if candidate.is_file():
            return candidate
    for sub in ("GO.db", "org.Hs.eg.db"):
        candidate = folder / sub / "extdata" / name
        if candidate.is_file():
            return candidate
    return None


def go_db_files(path: str | Path | None = None) -> tuple[Path, Path]:
    """Return the paths of ``GO.sqlite`` and ``org.Hs.eg.sqlite``.

    Parameters
    ----------
    path
        Folder holding them (as ``scripts/install-go-db.sh`` lays them out, or flat). Defaults to
        ``$SCCONCEPTS_GO_DB``, then ``.cache/go-db`` of the source checkout or the working folder,
        then the system R library.

    Raises
    ------
    InputError
        When either file cannot be found.

    """
    folders = [Path(path)] if path is not None else _default_dirs()
    for folder in folders:
        go_file, org_file = _find(folder, GO_FILE), _find(folder, ORG_FILE)
        if go_file and org_file:
            return go_file, org_file
    where = ", ".join(str(f) for f in folders)
    raise InputError(
        f"GO BP with its DAG needs {GO_FILE} and {ORG_FILE} (looked in {where}); run scripts/install-go-db.sh "
        f"(or set {ENV_VAR} to their folder), or use the bundled 'GO_Biological_Process_2023'"
    )


def go_db_available(path: str | Path | None = None) -> bool:
    """Whether :func:`go_db_files` finds both SQLite files."""
    try:
        go_db_files(path)
    except InputError:
        return False
    return True


def _connect(path: Path) -> sqlite3.Connection:
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        connection.execute("select count(*) from sqlite_master").fetchone()
    except sqlite3.DatabaseError as error:
        raise InputError(f"{path} is not a readable SQLite file ({error}); rerun scripts/install-go-db.sh") from error
    return connection


def _query(path: Path, sql: str, params: Iterable = ()) -> list[tuple]:
    with closing(_connect(path)) as connection:
        try:
            return connection.execute(sql, tuple(params)).fetchall()
        except sqlite3.DatabaseError as error:
            raise InputError(
                f"{path} lacks the expected Bioconductor tables ({error}); rerun install-go-db.sh"
            ) from error


def go_bp(path: str | Path | None = None, *, exclude_evidence: tuple[str, ...] = ("ND",)) -> GeneSets:
    """Return GO Biological Process: every term with its human genes (symbols) and its DAG.

    Direct annotations of ``org.Hs.eg.sqlite`` are propagated to all ancestors along ``is_a`` and
    ``part_of`` edges of ``GO.sqlite`` (the true-path rule), so a child's genes are a subset of
    each parent's, as :func:`~scconcepts.genesets.elim` requires.

    Parameters
    ----------
    path
        Folder with the SQLite files (see :func:`go_db_files`).
    exclude_evidence
        GO evidence codes to ignore (``ND``: no biological data).

    """
    go_file, org_file = go_db_files(path)
    stamp = (str(go_file), go_file.stat().st_mtime, str(org_file), org_file.stat().st_mtime)
    return _go_bp_cached(stamp, tuple(sorted(exclude_evidence)))


@lru_cache(maxsize=2)
def _go_bp_cached(stamp: tuple, exclude_evidence: tuple[str, ...]) -> GeneSets:
    go_file, org_file = Path(stamp[0]), Path(stamp[2])
    terms = _query(go_file, "select go_id, term from go_term where ontology = 'BP' order by go_id")
    index = {go_id: i for i, (go_id, _) in enumerate(terms)}
    edges = _query(
        go_file,
        "select c.go_id, p.go_id from go_bp_parents r join go_term c on c._id = r._id "
        f"join go_term p on p._id = r._parent_id where r.relationship_type in ({','.join('?' * len(RELATIONS))})",
        RELATIONS,
    )
    marks = ",".join("?" * len(exclude_evidence)) or "''"
    annotations = _query(
        org_file,
        "select distinct g.symbol, b.go_id from go_bp b join gene_info g on g._id = b._id "
        f"where b.evidence not in ({marks})",
        exclude_evidence,
    )
    n = len(terms)
    edges = [(index[c], index[p]) for c, p in edges if c in index and p in index]
    step = sparse.csr_matrix((np.ones(len(edges)), ([c for c, _ in edges], [p for _, p in edges])), shape=(n, n))
    closure = sparse.identity(n, format="csr")  # closure[d, a] = 1 when a is d or an ancestor of d
    while True:
        grown = ((closure + closure @ step) > 0).astype(np.float64)
        if grown.nnz == closure.nnz:
            break
        closure = grown
    symbols = sorted({symbol for symbol, _ in annotations})
    gene_index = {symbol: i for i, symbol in enumerate(symbols)}
    pairs = [(index[go_id], gene_index[symbol]) for symbol, go_id in annotations if go_id in index]
    direct = sparse.csr_matrix(
        (np.ones(len(pairs)), ([t for t, _ in pairs], [g for _, g in pairs])), shape=(n, len(symbols))
    )
    propagated = (closure.T @ direct).tocsr()
    propagated.sort_indices()
    keep = np.flatnonzero(np.diff(propagated.indptr))
    kept_ids = {terms[i][0] for i in keep}
    parents: dict[str, list[str]] = {}
    for c, p in edges:
        if terms[c][0] in kept_ids and terms[p][0] in kept_ids:
            parents.setdefault(terms[c][0], []).append(terms[p][0])
    genes = tuple(
        tuple(symbols[g] for g in propagated.indices[propagated.indptr[i] : propagated.indptr[i + 1]]) for i in keep
    )
    logger.info("GO BP: %d annotated terms, %d genes, %d is_a/part_of edges", len(keep), len(symbols), len(edges))
    return GeneSets(
        source="go_bp",
        term_ids=tuple(terms[i][0] for i in keep),
        names=tuple(terms[i][1] for i in keep),
        genes=genes,
        parents={child: tuple(ps) for child, ps in parents.items()},
    )


def ensembl_to_symbol(path: str | Path | None = None) -> dict[str, str]:
    """Return the human Ensembl gene id -> symbol table of ``org.Hs.eg.sqlite``."""
    _, org_file = go_db_files(path)
    rows = _query(org_file, "select e.ensembl_id, g.symbol from ensembl e join gene_info g on g._id = e._id")
    return {ensembl.upper(): symbol for ensembl, symbol in rows}
