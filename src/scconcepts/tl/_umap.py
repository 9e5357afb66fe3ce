"""A 2-D map of the cells for plots and the explorer, affordable at atlas scale."""

from __future__ import annotations

import logging

import numpy as np
from anndata import AnnData

from scconcepts._errors import InputError

logger = logging.getLogger(__name__)

#: Above this many cells the map is fitted on a sample and the other cells are placed by ``UMAP.transform``.
MAX_FIT_CELLS = 50_000
_MAP_KEY = "X_umap"


def cell_map(
    adata: AnnData, *, use_rep: str, seed: int = 0, max_fit: int = MAX_FIT_CELLS, keep_existing: bool = False
) -> str:
    """Store a 2-D UMAP of ``obsm[use_rep]`` in ``obsm["X_umap"]``; return how it was made.

    Up to ``max_fit`` cells, scanpy's neighbours graph and UMAP are used as usual. Beyond, UMAP is fitted
    on a uniform sample of ``max_fit`` cells and every other cell is placed into that map (umap-learn's
    ``transform``): minutes instead of hours at a million cells, at the price of a map shaped by the sample.

    Parameters
    ----------
    adata
        Cells with the embedding in ``obsm[use_rep]``.
    use_rep
        ``obsm`` key of the embedding to map.
    seed
        Random seed of the sample and of UMAP.
    max_fit
        Most cells UMAP is fitted on.
    keep_existing
        Keep an ``obsm["X_umap"]`` the data already hold (e.g. a map the user made) instead of computing one.

    Returns
    -------
    ``"given"``, ``"full"`` or ``"sample+transform"``, also logged.

    """
    if use_rep not in adata.obsm:
        raise InputError(f"obsm[{use_rep!r}] is missing; embed the cells first")
    if keep_existing and _MAP_KEY in adata.obsm and np.shape(adata.obsm[_MAP_KEY]) == (adata.n_obs, 2):
        logger.info("keeping the map the data already hold in obsm[%r]", _MAP_KEY)
        return "given"
    if adata.n_obs <= max_fit:
        import scanpy as sc

        n_neighbors = max(2, min(15, adata.n_obs - 1))
        # exact neighbours (sklearn): scanpy's default above 4,096 cells (pynndescent) fails on scipy's csr_array
        sc.pp.neighbors(adata, use_rep=use_rep, n_neighbors=n_neighbors, random_state=seed, transformer="sklearn")
        sc.tl.umap(adata, random_state=seed)
        return "full"
    import umap

    embedding = np.asarray(adata.obsm[use_rep], dtype=np.float32)
    sample = np.sort(np.random.default_rng(seed).choice(adata.n_obs, size=max_fit, replace=False))
    logger.info(
        "%d cells: fitting the UMAP on a sample of %d and placing the other cells into it", adata.n_obs, max_fit
    )
    reducer = umap.UMAP(n_neighbors=15, random_state=seed, n_jobs=1).fit(embedding[sample])
    coordinates = np.empty((adata.n_obs, 2), dtype=np.float32)
    coordinates[sample] = reducer.embedding_
    rest = np.setdiff1d(np.arange(adata.n_obs), sample, assume_unique=True)
    for start in range(0, rest.size, 100_000):
        block = rest[start : start + 100_000]
        coordinates[block] = reducer.transform(embedding[block])
    adata.obsm[_MAP_KEY] = coordinates
    return "sample+transform"
