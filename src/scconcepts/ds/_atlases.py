"""The immune atlases of the paper, fetched from CELLxGENE Discover."""

from __future__ import annotations

import logging

from anndata import AnnData

from scconcepts._errors import InputError
from scconcepts.ds._cellxgene import cached_path, fetch_h5ad, load_h5ad

logger = logging.getLogger(__name__)

#: Cross-Tissue Immune Cell Atlas (Dominguez Conde et al., Science 2022), dataset "Global",
#: 329,762 cells, collection 62ef75e4-cbea-454e-a0ce-998ec40223d3. The id is used as a CELLxGENE
#: Census ``dataset_id`` filter by several public pipelines (e.g. Open Problems' dataset loaders).
CROSS_TISSUE_IMMUNE_ATLAS = "1b9d8702-5af8-4142-85ed-020eb06ec4f6"

#: Tabula Sapiens "Immune" (collection e5f58829-1a66-40b5-a624-9046778e74f5), tried in order:
#: a dataset id that a single public project gives for this dataset (not confirmed elsewhere), then a
#: dataset *version* id of the 592,317-cell Tabula Sapiens 2 "Immune" file (schema 7.0.0) recorded
#: with its size and checksum by another public project. Neither could be checked here (no network).
TABULA_SAPIENS_IMMUNE = ("78b60b70-129a-4a6d-b15f-825b241eec66", "e62b0182-368f-4875-8ac1-f49e3d5eda60")


def _first_available(candidates: tuple[str, ...], name: str) -> AnnData:
    for dataset_id in candidates:
        if cached_path(dataset_id).is_file():
            return load_h5ad(cached_path(dataset_id), name)
    errors = []
    for dataset_id in candidates:
        try:
            return load_h5ad(fetch_h5ad(dataset_id), name)
        except InputError as error:
            logger.warning("%s: %s", name, error)
            errors.append(str(error))
    raise InputError(f"{name}: no candidate id is known to CELLxGENE ({'; '.join(errors)})")


def cross_tissue_immune_atlas() -> AnnData:
    """Download (once) and load the Cross-Tissue Immune Cell Atlas (Dominguez Conde et al. 2022).

    CELLxGENE dataset ``1b9d8702-5af8-4142-85ed-020eb06ec4f6`` ("Global", 329,762 immune cells from
    16 tissues of 12 donors; about 10 GB as .h5ad). See :func:`scconcepts.ds.cellxgene` for the cache.

    Returns
    -------
    AnnData with integer counts in ``X``, gene symbols, ``obs["cell_type"]``.

    """
    return _first_available((CROSS_TISSUE_IMMUNE_ATLAS,), "cross_tissue_immune_atlas")


def tabula_sapiens_immune() -> AnnData:
    """Download (once) and load the immune cells of Tabula Sapiens from CELLxGENE.

    The ids in :data:`TABULA_SAPIENS_IMMUNE` are tried in order (a cached file of any of them is used
    without network). **The first id could not be confirmed** against CELLxGENE here: it comes from one
    public project only. The second is a dataset version id of the Tabula Sapiens 2 "Immune" file
    (592,317 cells, about 20 GB), which CELLxGENE may retire when the dataset is revised. When both
    fail, find the current id on the Tabula Sapiens collection page and call
    :func:`scconcepts.ds.cellxgene` with it.

    Returns
    -------
    AnnData with integer counts in ``X``, gene symbols, ``obs["cell_type"]``.

    """
    return _first_available(TABULA_SAPIENS_IMMUNE, "tabula_sapiens_immune")
