"""Bundled datasets by name: what ``scconcepts run --dataset NAME`` can load without a network."""

from __future__ import annotations

from collections.abc import Callable

from anndata import AnnData

from scconcepts._errors import InputError
from scconcepts.ds._immune_sample import immune_sample
from scconcepts.ds._pbmc68k import pbmc68k
from scconcepts.ds._pbmc_sorted import pbmc_sorted

#: Bundled datasets: name -> loader returning integer counts in ``X``.
DATASETS: dict[str, Callable[[], AnnData]] = {
    "pbmc_sorted": pbmc_sorted,
    "pbmc68k": pbmc68k,
    "immune_sample": immune_sample,
}


def load_dataset(name: str) -> AnnData:
    """Load a bundled dataset by name.

    Parameters
    ----------
    name
        A key of :data:`DATASETS` (``"pbmc_sorted"``, ``"pbmc68k"``, ``"immune_sample"``).

    Returns
    -------
    Cells x genes AnnData with raw counts in ``X``.

    Raises
    ------
    InputError
        For an unknown name; the message lists the valid ones.

    """
    loader = DATASETS.get(name)
    if loader is None:
        valid = ", ".join(sorted(DATASETS))
        raise InputError(f"unknown dataset {name!r}; choose one of: {valid} (or pass a file with --input)")
    return loader()
