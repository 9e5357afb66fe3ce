import numpy as np
import pytest
import scipy.sparse as sp
from anndata import AnnData

import scconcepts


@pytest.fixture(scope="session")
def pbmc_counts():
    return scconcepts.ds.pbmc68k()


@pytest.fixture
def write_h5ad(tmp_path):
    def write(adata: AnnData, name: str = "cells.h5ad"):
        path = tmp_path / name
        adata.write_h5ad(path)
        return path

    return write


@pytest.fixture
def lognormalised(pbmc_counts):
    adata = pbmc_counts[:100].copy()
    adata.X = sp.csr_matrix(np.log1p(adata.X.toarray() / adata.X.sum(1).A * 1e4).astype(np.float32))
    return adata
