"""The 700 PBMC cells bundled in scanpy, with integer counts rebuilt."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from anndata import AnnData


def pbmc68k() -> AnnData:
    """Load scanpy's ``pbmc68k_reduced`` (700 PBMC, 765 genes, 10 cell types) with integer counts in ``X``.

    scanpy stores ``log1p`` of counts normalised to 10,000 per cell in ``raw``; the counts are rebuilt
    as ``round(expm1(raw.X) * n_counts / 1e4)``. The original labels are kept in
    ``obs["bulk_labels"]`` and copied to ``obs["cell_type"]``; scanpy's UMAP stays in ``obsm``.

    Returns
    -------
    Cells x genes AnnData with float32 integer counts (CSR) in ``X`` and ``obs["cell_type"]``.

    """
    import scanpy as sc

    reduced = sc.datasets.pbmc68k_reduced()
    raw = reduced.raw.to_adata()
    normalised = raw.X.toarray() if sp.issparse(raw.X) else np.asarray(raw.X)
    counts = np.round(np.expm1(normalised) * reduced.obs["n_counts"].to_numpy()[:, None] / 1e4)
    adata = AnnData(
        X=sp.csr_matrix(counts.astype(np.float32)),
        obs=reduced.obs[["bulk_labels", "n_counts", "percent_mito", "phase"]].copy(),
        var=raw.var[[]].copy(),
        obsm={"X_umap": np.asarray(reduced.obsm["X_umap"], dtype=np.float32)},
    )
    adata.obs["cell_type"] = adata.obs["bulk_labels"].astype("category")
    adata.uns["dataset"] = "pbmc68k"
    return adata
