"""``concepts.csv``: the concept table, written the same way by every command that changes it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from scconcepts._keys import DEFAULT_KEY, params_key

if TYPE_CHECKING:
    from anndata import AnnData

CONCEPTS_CSV = "concepts.csv"


def write_concepts_csv(adata: AnnData, folder: str | Path, *, key: str = DEFAULT_KEY) -> Path:
    """Write the concept table ``uns["<key>"]["table"]`` to ``concepts.csv`` in ``folder`` and return its path.

    ``run``, ``apply``, ``enrich`` and ``evaluate`` all write the file through this function, into the
    staging folder of their commit, so that ``concepts.csv`` always shows the table that ``results.h5ad``
    holds (labels, terms, genes, scores), in the same layout whichever command wrote it last.

    Parameters
    ----------
    adata
        Data holding the concept table.
    folder
        Folder to write into (a results folder's staging folder).
    key
        Stem of the concept keys.

    """
    path = Path(folder) / CONCEPTS_CSV
    adata.uns[params_key(key)]["table"].to_csv(path)
    return path
