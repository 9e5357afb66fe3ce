"""The 559 immune cells with raw counts bundled in the celltypist package."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from anndata import AnnData

from scconcepts._errors import InputError
from scconcepts.ds._table import read_table

logger = logging.getLogger(__name__)

SAMPLE = Path("data", "samples", "sample_cell_by_gene.csv")


def immune_sample_path() -> Path:
    """Return the path of celltypist's ``sample_cell_by_gene.csv`` without importing celltypist.

    (Importing celltypist loads scanpy and creates ``~/.celltypist``; finding the file does not need it.)
    """
    spec = importlib.util.find_spec("celltypist")
    if spec is None or not spec.submodule_search_locations:
        raise InputError("celltypist is not installed; install it (pip install celltypist) to load immune_sample")
    for location in spec.submodule_search_locations:
        candidate = Path(location) / SAMPLE
        if candidate.is_file():
            return candidate
    raise InputError(f"the installed celltypist has no {SAMPLE.as_posix()}; reinstall celltypist")


def immune_sample() -> AnnData:
    """Load celltypist's demo sample: 559 immune cells x 32,786 genes with raw counts.

    The cells ship **unlabelled**: ``obs["cell_type"]`` is absent. celltypist 1.7's wheel bundles no
    model file (its models are downloaded on demand into ``~/.celltypist``), so the cells cannot be
    labelled offline; tools that need labels (e.g. the cell-type classifier metric) must skip or be given
    labels. The CSV stores counts as floats, some written as ``0.999999999999999``; they are rounded.

    Returns
    -------
    Cells x genes AnnData with float32 integer counts (CSR) in ``X``, unique gene symbols as
    ``var_names``, ``obs["n_counts"]`` and ``uns["dataset"] = "immune_sample"``.

    """
    path = immune_sample_path()
    adata = read_table(path, sep=",")
    values = adata.X.data
    rounded = np.rint(values)
    deviation = float(np.abs(values - rounded).max()) if values.size else 0.0
    if deviation > 1e-3:
        raise InputError(
            f"{path} does not hold counts (a value is {deviation:.3g} from an integer); reinstall celltypist"
        )
    adata.X = sp.csr_matrix((rounded.astype(np.float32), adata.X.indices, adata.X.indptr), shape=adata.shape)
    adata.X.eliminate_zeros()
    adata.obs["n_counts"] = np.asarray(adata.X.sum(axis=1)).ravel()
    adata.uns["dataset"] = "immune_sample"
    logger.debug("immune_sample: %d cells x %d genes from %s", *adata.shape, path)
    return adata
