"""A results folder's expression matrix for the gene pages: read from disk once, log-normalised, in column blocks."""

from __future__ import annotations

from pathlib import Path

import anndata as ad
import numpy as np
import scipy.sparse as sp

from scconcepts.results import open_results_h5ad

#: One block of the expression: the index of its first cell and its cells x genes, column-major.
Block = tuple[int, sp.csc_matrix]


def read_expression(folder: Path, n_cells: int, n_genes: int, chunk: int) -> list[Block]:
    """The log-normalised expression of ``results.h5ad`` as column-major blocks of ``chunk`` cells.

    The matrix is read from disk chunk by chunk (normalisation is per cell,
    :func:`scconcepts.tl._de.log_normalised`), so no dense or second full-size copy is made; the blocks are what
    stays in memory. A folder without an expression matrix reads as all zeros.
    """
    from scconcepts.tl._de import log_normalised  # tl imports torch: the explorer starts without it

    adata = open_results_h5ad(folder, backed="r")
    blocks = []
    try:
        if adata.X is None:
            return [(0, sp.csc_matrix((n_cells, n_genes), dtype=np.float32))]
        for start in range(0, n_cells, chunk):
            part = adata.X[start : start + chunk]
            block = log_normalised(ad.AnnData(X=sp.csr_matrix(part, dtype=np.float32))).tocsc()
            block.eliminate_zeros()
            blocks.append((start, block))
    finally:
        adata.file.close()
    return blocks or [(0, sp.csc_matrix((0, n_genes), dtype=np.float32))]


def gene_column(blocks: list[Block], gene: int) -> tuple[np.ndarray, np.ndarray]:
    """Cells expressing gene ``gene`` (a column index) and their expression, ascending (strongest last)."""
    cells = np.concatenate([start + block.indices[block.indptr[gene] : block.indptr[gene + 1]]
                            for start, block in blocks])  # fmt: skip
    values = np.concatenate([block.data[block.indptr[gene] : block.indptr[gene + 1]] for _, block in blocks])
    order = np.argsort(values, kind="stable")
    return cells[order].astype(np.uint32), values[order].astype(np.float32)
