"""Fixtures for the dataset tests: small count matrices, a blocked network, a private cache."""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from anndata import AnnData


def make_counts(n_cells: int = 30, n_genes: int = 12, seed: int = 0) -> AnnData:
    """Poisson counts with named cells and genes and a cell-type column."""
    rng = np.random.default_rng(seed)
    counts = rng.poisson(rng.uniform(0.2, 6.0, size=n_genes), size=(n_cells, n_genes)).astype(np.float32)
    counts[0, 0] = 7.0  # at least one non-zero in the first row
    obs = pd.DataFrame(
        {"cell_type": pd.Categorical(rng.choice(["T", "B", "NK"], size=n_cells))},
        index=[f"cell{i}" for i in range(n_cells)],
    )
    var = pd.DataFrame(index=[f"GENE{j}" for j in range(n_genes)])
    return AnnData(X=sp.csr_matrix(counts), obs=obs, var=var)


def make_cellxgene_like(n_cells: int = 40, n_genes: int = 15, seed: int = 1) -> AnnData:
    """An AnnData laid out like a CELLxGENE .h5ad: normalised X, counts in raw.X, Ensembl ids, feature_name."""
    counts = make_counts(n_cells, n_genes, seed)
    matrix = counts.X.toarray()
    totals = np.maximum(matrix.sum(axis=1, keepdims=True), 1.0)
    normalised = np.log1p(matrix / totals * 1e4).astype(np.float32)
    ensembl = [f"ENSG{j:011d}" for j in range(n_genes)]
    var = pd.DataFrame({"feature_name": [f"SYM{j}" for j in range(n_genes)]}, index=ensembl)
    obs = pd.DataFrame(
        {
            "cell_type": counts.obs["cell_type"].map({"T": "T cell", "B": "B cell", "NK": "natural killer cell"}),
            "donor_id": "D1",
        },
        index=counts.obs_names,
    )
    adata = AnnData(X=sp.csr_matrix(normalised), obs=obs, var=var)
    adata.raw = AnnData(X=sp.csr_matrix(matrix), obs=obs[[]], var=pd.DataFrame(index=ensembl))
    adata.uns["expected_counts"] = matrix
    return adata


@pytest.fixture
def counts() -> AnnData:
    return make_counts()


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("SCCONCEPTS_CACHE", str(folder))
    return folder


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Make every connection attempt fail as on a machine without network; return the attempts made."""
    attempts: list[object] = []

    def refuse_connect(self: socket.socket, address: object) -> None:
        attempts.append(address)
        raise OSError(101, "Network is unreachable")

    def refuse_create(address: object, *args: object, **kwargs: object) -> socket.socket:
        attempts.append(address)
        raise OSError(101, "Network is unreachable")

    monkeypatch.setattr(socket.socket, "connect", refuse_connect)
    monkeypatch.setattr(socket, "create_connection", refuse_create)
    return attempts


@pytest.fixture
def no_dns(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Make every host-name lookup fail as when DNS cannot be reached."""
    lookups: list[object] = []

    def fail(host: object, *args: object, **kwargs: object) -> list[object]:
        lookups.append(host)
        raise socket.gaierror(-3, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    return lookups


@pytest.fixture
def cellxgene_like() -> AnnData:
    return make_cellxgene_like()
