"""Gene selection for scVI on small, sparse, wide data: Seurat v3's loess fails there, the fallbacks do not."""

import numpy as np
import pytest
import scipy.sparse as sp
from anndata import AnnData

from scconcepts._errors import InputError
from scconcepts.models._hvg import select_variable_genes


def _sparse_wide(n_cells: int, n_genes: int, seed: int = 0) -> AnnData:
    """Poisson counts with log-normal gene means, most genes rare (like 200 T cells x 30,727 genes)."""
    rng = np.random.default_rng(seed)
    means = np.exp(rng.normal(-4, 2, size=n_genes))
    depth = rng.uniform(0.5, 2, size=(n_cells, 1))
    counts = AnnData(sp.csr_matrix(rng.poisson(means[None, :] * depth).astype(np.float32)))
    counts.var_names = [f"G{i}" for i in range(n_genes)]
    return counts


@pytest.mark.slow
def test_200_cells_by_30727_genes_get_2000_variable_genes():
    import scanpy as sc

    counts = _sparse_wide(200, 30_727)
    with pytest.raises(ValueError):  # the failure seen on a real file of this shape
        sc.pp.highly_variable_genes(counts.copy(), n_top_genes=2000, flavor="seurat_v3")
    chosen = select_variable_genes(counts, 2000)
    assert chosen.n_vars == 2000
    assert (np.asarray((chosen.X != 0).sum(axis=0)).ravel() > 0).all()
    # the chosen genes are the variable ones: their mean variance/mean ratio beats the unchosen genes'
    dense = counts[:, counts.X.getnnz(axis=0) > 1].X.toarray()
    dispersion = dense.var(axis=0) / np.maximum(dense.mean(axis=0), 1e-9)
    chosen_set = set(chosen.var_names)
    names = np.asarray(counts[:, counts.X.getnnz(axis=0) > 1].var_names)
    mask = np.array([n in chosen_set for n in names])
    assert dispersion[mask].mean() > dispersion[~mask].mean()


def test_unexpressed_genes_are_dropped_before_selection():
    counts = _sparse_wide(80, 3000, seed=1)
    expressed = int((counts.X.getnnz(axis=0) > 0).sum())
    chosen = select_variable_genes(counts, expressed + 10)  # more asked than expressed: all expressed genes
    assert chosen.n_vars == expressed and chosen.X.getnnz(axis=0).min() > 0
    assert select_variable_genes(counts, 5000) is counts  # no selection when the data have few genes


def test_all_zero_counts_are_refused():
    with pytest.raises(InputError, match="all zeros"):
        select_variable_genes(AnnData(sp.csr_matrix((30, 50), dtype=np.float32)), 20)
