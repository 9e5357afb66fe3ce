"""The specific score puts planted drivers above a housekeeping gene; the test is calibrated under a null encoder."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from anndata import AnnData
from scipy import stats
from torch import nn

from scconcepts import tl
from scconcepts.models import TorchEncoder

from .conftest import DRIVERS, N_PER_GROUP, planted_counts, planted_encoder, with_concepts

HOUSEKEEPING = 16  # unread by the planted encoder until this test wires it to every hidden unit


def _housekeeping_case(seed: int = 0):
    adata = planted_counts(seed)
    counts = adata.X.toarray()
    counts[:, HOUSEKEEPING] = np.random.default_rng(seed).poisson(40.0, adata.n_obs)  # high in every cell
    adata.X = sp.csr_matrix(counts)
    encoder = planted_encoder(seed)
    first = encoder.module[0]
    with torch.no_grad():
        first.weight[:, HOUSEKEEPING] = 0.012  # weakly read by every hidden unit, hence every embedding direction
    return adata, encoder, with_concepts(adata, encoder)


@pytest.mark.parametrize("method", ["mask", "mean"])
def test_drivers_rank_above_a_housekeeping_gene(method):
    adata, encoder, concepts = _housekeeping_case()
    tl.attribute(adata, encoder=encoder, sae=concepts, n_cells=N_PER_GROUP // 2, method=method)
    specific = adata.varm["concepts_attribution"]
    raw = adata.varm["concepts_attribution_raw"]
    raw_beats_drivers = 0
    for k, drivers in DRIVERS.items():
        # The housekeeping gene really moves every concept...
        assert raw[HOUSEKEEPING, k] > 0
        raw_beats_drivers += int(raw[HOUSEKEEPING, k] > raw[drivers, k].min())
        # ...but no more than it moves the others: every driver ranks above it in the specific score.
        assert specific[drivers, k].min() > specific[HOUSEKEEPING, k]
        assert (adata.varm["concepts_attribution_padj"][drivers, k] < 0.05).all()
    if method == "mask":  # removing its whole (high) count: the raw effect outranks drivers
        assert raw_beats_drivers == len(DRIVERS)


class _RandomEncoder(nn.Module):
    """Random weights on log1p(x); embedding dimension k also reads gene ``planted[k]`` strongly."""

    def __init__(self, n_genes: int, dim: int, seed: int, planted: list[int], ignored: list[int]) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.first, self.second = nn.Linear(n_genes, 32), nn.Linear(32, dim)
        with torch.no_grad():
            self.first.weight.copy_(torch.randn(32, n_genes, generator=generator) * 3 / np.sqrt(n_genes))
            self.second.weight.copy_(torch.randn(dim, 32, generator=generator) / np.sqrt(32))
            self.first.weight[:, ignored] = 0
        self.planted = planted

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logged = torch.log1p(x)
        out = self.second(torch.tanh(self.first(logged)))
        return out + nn.functional.pad(1.5 * logged[:, self.planted], (0, out.shape[1] - len(self.planted)))


class _Thresholds(nn.Module):
    def __init__(self, thresholds: torch.Tensor) -> None:
        super().__init__()
        self.thresholds = thresholds

    def encode(self, emb: torch.Tensor) -> torch.Tensor:
        return torch.relu(emb - self.thresholds)


@pytest.mark.parametrize("method", ["mean", "mask", "counterfactual"])
def test_null_encoder_pvalues_are_uniform(method):
    """Random encoder over 300 genes of varied expression, 8 concepts: p-values of the null pairs are uniform."""
    n_genes, n_obs, dim, ignored, planted = 300, 300, 8, [0], [1, 2]
    rng = np.random.default_rng(0)
    rate = 0.5 * np.exp(rng.normal(0, 1.2, n_genes))
    counts = rng.poisson(rate * rng.gamma(5, 0.2, (n_obs, 1))).astype(np.float32)
    counts[:, planted] = rng.poisson(2.0, (n_obs, len(planted))) * (rng.random((n_obs, len(planted))) < 0.5)
    adata = AnnData(X=sp.csr_matrix(counts))
    adata.var_names = [f"g{i}" for i in range(n_genes)]
    encoder = TorchEncoder(_RandomEncoder(n_genes, dim, 0, planted, ignored), list(adata.var_names), name="random")
    emb = encoder.embed(adata)
    adata.obsm["X_random"] = emb
    concepts = _Thresholds(torch.tensor(np.quantile(emb, 0.7, axis=0), dtype=torch.float32))
    with torch.no_grad():
        adata.obsm["X_concepts"] = sp.csr_matrix(concepts.encode(torch.as_tensor(emb)).numpy())
    tl.attribute(adata, encoder=encoder, sae=concepts, n_cells=30, method=method)
    pval, padj = adata.varm["concepts_attribution_pval"], adata.varm["concepts_attribution_padj"]
    null = adata.varm["concepts_attribution_ncells"] > 0
    null[ignored + planted] = False
    assert null.sum() > 2000
    assert stats.kstest(pval[null], "uniform").statistic < 0.06
    assert (padj[null] < 0.05).mean() <= 0.05
    assert (pval[ignored] == 1).all()  # no effect at all: never significant
    for k, gene in enumerate(planted):
        assert padj[gene, k] < 1e-6
    assert "random-effects" in adata.uns["concepts_attribution"]["test"]


def test_sums_from_disjoint_cells_merge_to_the_whole(planted):
    """Scores and p-values depend only on sums over cells: two halves merged give the single run's result."""
    from scconcepts.attribution import GeneStatistics, get_strategy, run_attribution, select_cells, specific_scores

    adata, encoder, concepts = planted
    x = encoder.expression(adata)
    ids = np.arange(3)
    chosen = select_cells(sp.csr_matrix(adata.obsm["X_concepts"]), ids, n_cells=40)
    stats_ = GeneStatistics.from_expression(x, quantile=0.95)

    def run(cells):
        return run_attribution(
            encoder, concepts.encode, x, None, ids, cells, strategy=get_strategy("mean"), stats=stats_, progress=False
        )

    whole = run(chosen)
    halves = [run([c[part::2] for c in chosen]) for part in (0, 1)]
    total = sum(h.total for h in halves)
    squares = sum(h.squares for h in halves)
    tested = sum(h.n_perturbed for h in halves) > 0
    n_cells = sum(h.n_cells for h in halves)
    mean_activation = sum(h.n_cells * h.mean_activation for h in halves) / n_cells
    merged = specific_scores(total, squares, tested, squares > 0, n_cells, mean_activation)
    np.testing.assert_allclose(merged.specific, whole.score, atol=1e-6)
    np.testing.assert_allclose(merged.raw, whole.raw, atol=1e-6)
    np.testing.assert_allclose(merged.pval, whole.pval, rtol=1e-6, atol=1e-9)
