"""What the explorer reads of a token run (``run --tokens``): per-gene token activation, per-cell mean, store figures.

For a run on the cell embedding every field is empty (:attr:`TokenData.run` is ``False``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anndata as ad
import numpy as np
import scipy.sparse as sp

from scconcepts import _keys
from scconcepts.results._tokens import is_token_run, token_gene_cells, token_store_summary


@dataclass
class TokenData:
    """A token run's views; empty for other runs."""

    #: Whether the run's concepts were learnt on gene tokens.
    run: bool = False
    #: ``genes x concepts`` mean activation over the cells where the gene's token is present (``NaN``: no token).
    genes: np.ndarray | None = None
    #: ``cells x concepts`` mean over each cell's tokens (column-compressed).
    mean: sp.csc_matrix | None = None
    #: The token store's summary (:func:`scconcepts.results._tokens.token_store_summary`).
    store: dict[str, Any] | None = None
    #: Cells where each gene's token is stored.
    gene_cells: np.ndarray | None = None
    #: Whether ``varm[<key>_attribution]`` holds the token ranking (token runs written before the counterfactual
    #: attribution of token concepts existed), so that it is not shown as an attribution.
    attribution_is_ranking: bool = False

    def mean_values(self, cid: int) -> tuple[np.ndarray, np.ndarray]:
        """Cells with a non-zero mean of concept ``cid`` over their tokens, ascending."""
        assert self.mean is not None
        lo, hi = self.mean.indptr[cid], self.mean.indptr[cid + 1]
        idx, vals = self.mean.indices[lo:hi], self.mean.data[lo:hi]
        order = np.argsort(vals, kind="stable")
        return idx[order].astype(np.uint32), vals[order].astype(np.float32)

    def top_genes(self, cid: int, gene_names: np.ndarray, n: int) -> list[dict[str, Any]]:
        """Genes with the largest per-gene token activation of concept ``cid`` (``gene``, ``score``, ``n_cells``)."""
        if self.genes is None:
            return []
        col = np.nan_to_num(self.genes[:, cid], nan=-np.inf)
        idx = np.argsort(-col, kind="stable")[: min(n, col.size)]
        cells = self.gene_cells
        return [
            {"gene": str(gene_names[g]), "score": float(col[g]), "n_cells": None if cells is None else int(cells[g])}
            for g in idx
            if np.isfinite(col[g]) and col[g] > 0
        ]


def read_token_data(adata: ad.AnnData, key: str, params: dict[str, Any], folder: Path, n_concepts: int) -> TokenData:
    """The token views of the results ``adata`` of run ``key`` in ``folder`` (empty unless it is a token run)."""
    if not is_token_run(params):
        return TokenData()
    shape = (adata.n_vars, n_concepts)
    genes = adata.varm.get(_keys.token_genes_key(key))
    genes = np.asarray(genes, dtype=np.float32) if genes is not None else None
    mean = adata.obsm.get(_keys.token_mean_key(key))
    if mean is not None and tuple(mean.shape) == (adata.n_obs, n_concepts):
        mean = sp.csc_matrix(mean, dtype=np.float32)
        mean.eliminate_zeros()
    else:
        mean = None
    names = np.asarray(adata.var_names)
    cells = adata.varm.get(f"{key}_token_gene_cells")
    cells = np.asarray(cells).reshape(-1) if cells is not None else None
    source = adata.uns.get(_keys.attribution_key(key))
    return TokenData(
        run=True,
        genes=genes if genes is not None and genes.shape == shape else None,
        mean=mean,
        store=token_store_summary(folder),
        gene_cells=cells if cells is not None and cells.size == names.size else token_gene_cells(folder, names),
        attribution_is_ranking=isinstance(source, dict) and str(source.get("source", "")) == "gene-token activation",
    )
