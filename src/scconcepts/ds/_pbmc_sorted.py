"""3,500 FACS-sorted PBMC (Zheng et al. 2017) with integer counts, vendored in the package."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse as sp
from anndata import AnnData

from scconcepts._errors import InputError

#: The vendored file (5 MB): 500 cells of each of 7 sorted populations x 8,846 genes.
PBMC_SORTED_PATH = Path(__file__).parent / "data" / "pbmc3500_sorted.h5ad"

#: Columns kept from the source file; scMINER's own clustering and UMAP are dropped (not ground truth).
_KEPT_OBS = ["CellID", "trueLabel", "trueLabel_full", "nUMI", "nFeature", "pctMito"]


def pbmc_sorted() -> AnnData:
    """Load 3,500 human PBMC from 10x Genomics' FACS-sorted populations, 500 of each of 7 sorted types.

    Source: Zheng et al. 2017, *Nat Commun* 8:14049, as distributed in the scMINER R package
    (jyyulab/scMINER, Apache-2.0) as log2(CPM + 1) over 8,846 genes; the integer counts were rebuilt
    exactly from it (see ``ds/data/README.md``). The labels are the sorting gates, not a clustering,
    so they are ground truth for which cells are which.

    Returns
    -------
    Cells x genes AnnData with float32 integer counts (CSR) in ``X``, gene symbols as ``var_names``,
    ``obs["cell_type"]`` = the sorted type (B, CD4TN, CD4TCM, CD4Treg, CD8TN, NK, Monocyte),
    ``obs["gate"]`` = the sorting gate (e.g. ``CD4+/CD25 T Reg``) and ``uns["dataset"] = "pbmc_sorted"``.

    """
    import anndata as ad

    if not PBMC_SORTED_PATH.is_file():
        raise InputError(f"the bundled file {PBMC_SORTED_PATH} is missing; reinstall scconcepts")
    source = ad.read_h5ad(PBMC_SORTED_PATH)
    counts = sp.csr_matrix(source.X, dtype=np.float32)
    obs = source.obs[_KEPT_OBS].copy()
    obs["cell_type"] = obs["trueLabel"].astype("category")
    obs["gate"] = obs["trueLabel_full"].astype("category")
    adata = AnnData(X=counts, obs=obs, var=source.var[[]].copy())
    adata.var_names_make_unique()
    adata.uns["dataset"] = "pbmc_sorted"
    return adata
