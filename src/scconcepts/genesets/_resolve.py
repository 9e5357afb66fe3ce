"""Turn a gene-set source given by name, path or object into :class:`GeneSets`."""

from __future__ import annotations

import logging
from pathlib import Path

from scconcepts._errors import InputError
from scconcepts.genesets._bundled import BUNDLED, bundled_library
from scconcepts.genesets._gmt import read_gmt
from scconcepts.genesets._go import go_bp, go_db_available
from scconcepts.genesets._sets import GeneSets

logger = logging.getLogger(__name__)

GO_BP = "go_bp"
AUTO = "auto"


def load_source(source: str | Path | GeneSets, *, go_db: str | Path | None = None) -> GeneSets:
    """Return the gene sets named by ``source``.

    Parameters
    ----------
    source
        ``"go_bp"`` (GO BP with its DAG from the installed SQLite files), ``"auto"`` (``go_bp`` when
        installed, else the bundled GO BP 2023 library), a bundled library name
        (``GO_Biological_Process_2023``, ``KEGG_2021_Human``), the path of a ``.gmt`` file, or
        :class:`GeneSets` already built.
    go_db
        Folder of the GO SQLite files (see :func:`~scconcepts.genesets.go_db_files`).

    """
    if isinstance(source, GeneSets):
        return source
    name = str(source)
    if name == AUTO:
        if go_db_available(go_db):
            return go_bp(go_db)
        logger.warning(
            "GO SQLite files not found (run scripts/install-go-db.sh): using the bundled "
            "GO_Biological_Process_2023 library, without the DAG (no elim pass)"
        )
        return bundled_library("GO_Biological_Process_2023")
    if name == GO_BP:
        return go_bp(go_db)
    if name in BUNDLED:
        return bundled_library(name)
    if Path(name).suffix in {".gmt", ".txt"} or Path(name).exists():
        return read_gmt(name)
    try:
        return bundled_library(name)
    except InputError:
        raise InputError(
            f"unknown gene-set source {name!r}; use 'go_bp', 'auto', {', '.join(BUNDLED)} or a .gmt file path"
        ) from None
