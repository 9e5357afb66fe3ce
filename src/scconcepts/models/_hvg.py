"""Highly variable genes for training scVI: Seurat v3 on counts, with fallbacks for small, sparse, wide data."""

from __future__ import annotations

import logging
import warnings

import numpy as np
from anndata import AnnData

from scconcepts._errors import InputError

logger = logging.getLogger(__name__)

#: Second try of Seurat v3: only genes detected in at least this many cells (rare genes make its loess singular).
MIN_CELLS_RETRY = 3


def _seurat_v3(counts: AnnData, n_top_genes: int, batch_key: str | None) -> np.ndarray:
    import scanpy as sc

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = sc.pp.highly_variable_genes(
            counts, n_top_genes=n_top_genes, flavor="seurat_v3", batch_key=batch_key, inplace=False
        )
    return np.asarray(frame["highly_variable"], dtype=bool)


def _seurat_log(counts: AnnData, n_top_genes: int, batch_key: str | None) -> np.ndarray:
    import scanpy as sc

    normalised = counts.copy()
    sc.pp.normalize_total(normalised, target_sum=1e4)
    sc.pp.log1p(normalised)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = sc.pp.highly_variable_genes(
            normalised, n_top_genes=n_top_genes, flavor="seurat", batch_key=batch_key, inplace=False
        )
    return np.asarray(frame["highly_variable"], dtype=bool)


def select_variable_genes(counts: AnnData, n_top_genes: int, *, batch_key: str | None = None) -> AnnData:
    """Return the ``n_top_genes`` most variable expressed genes of ``counts`` (``counts`` itself if it has no more).

    Genes detected in no cell are dropped first. Seurat v3 (on counts) is tried on them; when its
    loess fit is singular (it happens on small, sparse, wide data, e.g. 200 cells x 30,000 genes) it
    is tried again on genes detected in at least :data:`MIN_CELLS_RETRY` cells, and then the Seurat
    flavour on log-normalised counts is used. Each fallback is logged.

    Parameters
    ----------
    counts
        Cells x genes raw counts (sparse or dense ``X``).
    n_top_genes
        Genes to keep.
    batch_key
        ``obs`` column of batches (genes are ranked within batches).

    Raises
    ------
    InputError
        When no gene is detected in any cell (an all-zero matrix).

    """
    detected = np.asarray((counts.X != 0).sum(axis=0)).ravel()
    if not detected.any():
        raise InputError(
            f"the expression matrix is all zeros ({counts.n_obs} cells x {counts.n_vars} genes): "
            "no gene is detected in any cell; check the file or the layer"
        )
    if counts.n_vars <= n_top_genes:
        return counts
    expressed = counts[:, detected > 0].copy() if (detected == 0).any() else counts
    if expressed.n_vars <= n_top_genes:
        return expressed
    try:
        keep = _seurat_v3(expressed, n_top_genes, batch_key)
    except (ValueError, np.linalg.LinAlgError) as error:
        common = detected[detected > 0] >= MIN_CELLS_RETRY
        logger.warning(
            "Seurat v3 gene selection failed (%s); retrying on the %d genes detected in >= %d cells",
            str(error).strip()[:80],
            int(common.sum()),
            MIN_CELLS_RETRY,
        )
        try:
            if common.sum() <= n_top_genes:
                raise ValueError("too few genes for a retry")
            keep = np.zeros(expressed.n_vars, dtype=bool)
            keep[np.flatnonzero(common)[_seurat_v3(expressed[:, common].copy(), n_top_genes, batch_key)]] = True
        except (ValueError, np.linalg.LinAlgError) as second:
            logger.warning(
                "Seurat v3 failed again (%s); choosing genes with the Seurat flavour on log-normalised counts",
                str(second).strip()[:80],
            )
            keep = _seurat_log(expressed, n_top_genes, batch_key)
    return expressed[:, keep].copy()
