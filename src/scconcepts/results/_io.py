"""Read and write the AnnData of a results folder."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from scconcepts.results._folder import RESULTS_H5AD, add_to_results, read_manifest

if TYPE_CHECKING:
    from anndata import AnnData


def read_results(folder: str | Path) -> AnnData:
    """Read ``results.h5ad`` of a results folder written by ``scconcepts run``."""
    import anndata as ad  # imported here: commands that only read the manifest start without it

    read_manifest(folder)
    return ad.read_h5ad(Path(folder) / RESULTS_H5AD)


def update_results(folder: str | Path, adata: AnnData) -> None:
    """Replace ``results.h5ad`` of a results folder atomically with ``adata``."""
    add_to_results(folder, RESULTS_H5AD, lambda tmp: adata.write_h5ad(tmp))
