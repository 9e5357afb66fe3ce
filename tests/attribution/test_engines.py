"""The shortcut equals the exact engine; exact scores match an independent NumPy computation; signs."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from anndata import AnnData
from scipy import stats
from torch import nn

from scconcepts import tl
from scconcepts.attribution import ExactRunner, ShortcutRunner, show
from scconcepts.models import TorchEncoder

from .conftest import DRIVERS, planted_counts


def _topk(k: int):
    def encode(emb: torch.Tensor) -> torch.Tensor:
        values, indices = torch.relu(emb).topk(k, dim=1)
        return torch.zeros_like(emb).scatter(1, indices, values)

    return encode


def _random_network(n_genes: int, seed: int = 0) -> TorchEncoder:
    torch.manual_seed(seed)
    module = nn.Sequential(nn.Linear(n_genes, 24), nn.LayerNorm(24), nn.GELU(), nn.Linear(24, 8))
    return TorchEncoder(module, [f"g{i}" for i in range(n_genes)], name="net")


def _with_activations(adata: AnnData, encoder, components) -> None:
    with torch.no_grad():
        emb = encoder.encode(torch.as_tensor(adata.X.toarray()))
        adata.obsm["X_concepts"] = sp.csr_matrix(components(emb).numpy())
    adata.obsm[f"X_{encoder.name}"] = emb.numpy()


def test_runners_agree_on_random_rows():
    encoder = _random_network(30)
    components = _topk(3)
    rng = np.random.default_rng(1)
    x = torch.as_tensor(rng.poisson(2.0, (20, 30)).astype(np.float32))
    exact, shortcut = ExactRunner(encoder, components), ShortcutRunner(encoder.linear_first_layer(), components)
    with torch.no_grad():
        assert torch.allclose(exact.prepare(x, None), shortcut.prepare(x, None), atol=1e-6)
        cell = torch.as_tensor(rng.integers(0, 20, 500))
        gene = torch.as_tensor(rng.integers(0, 30, 500))
        value = torch.as_tensor(rng.uniform(0, 10, 500).astype(np.float32))
        a, b = exact.perturbed(cell, gene, value), shortcut.perturbed(cell, gene, value)
    assert (a - exact.prepare(x, None)[cell]).abs().max() > 1e-3  # the perturbations do change activations
    torch.testing.assert_close(a, b, atol=1e-5, rtol=0)


@pytest.mark.parametrize("method", ["mask", "mean", "overexpress", "counterfactual", "baseline"])
def test_shortcut_equals_exact_scores(method):
    adata = planted_counts()
    encoder, components = _random_network(adata.n_vars), _topk(3)
    _with_activations(adata, encoder, components)
    scores = {}
    for engine in ("exact", "shortcut"):
        out = tl.attribute(adata, encoder=encoder, sae=components, method=method, n_cells=15, engine=engine, copy=True)
        assert out.uns["concepts_attribution"]["params"]["engine"] == engine
        scores[engine] = out.varm["concepts_attribution_raw"]
    assert np.abs(scores["exact"]).max() > 1e-3
    np.testing.assert_allclose(scores["shortcut"], scores["exact"], atol=1e-5, rtol=0)


def test_shortcut_equals_exact_on_scvi():
    scvi = pytest.importorskip("scvi")
    from scconcepts.models._scvi import ScviEncoder

    adata = planted_counts()
    scvi.settings.seed = 0
    data = adata.copy()
    scvi.model.SCVI.setup_anndata(data)
    model = scvi.model.SCVI(data, n_latent=4, n_hidden=32)
    model.train(max_epochs=2, accelerator="cpu", enable_progress_bar=False, logger=False, enable_checkpointing=False)
    encoder = ScviEncoder(model)
    assert encoder.linear_first_layer() is not None
    components = _topk(2)
    x = torch.as_tensor(encoder.expression(adata).toarray())
    with torch.no_grad():
        emb = encoder.encode(x)
    adata.obsm["X_concepts"] = sp.csr_matrix(components(emb).numpy())
    adata.obsm["X_scvi"] = emb.numpy()
    scores = {}
    for engine in ("exact", "shortcut"):
        out = tl.attribute(adata, encoder=encoder, sae=components, n_cells=10, engine=engine, copy=True)
        scores[engine] = out.varm["concepts_attribution_raw"]
    assert np.abs(scores["exact"]).max() > 1e-3
    np.testing.assert_allclose(scores["shortcut"], scores["exact"], atol=1e-5, rtol=0)


# A concept that is linear in the genes where it is active: concept 0 = ReLU(1 + 0.3 x0 - 0.2 x1 + 0.05 x2).
_W = np.zeros((2, 6), dtype=np.float32)
_W[0, :3] = [0.3, -0.2, 0.05]
_W[1, 3:] = [0.2, 0.2, 0.2]
_B = np.array([1.0, -2.1], dtype=np.float32)


def _linear_case() -> tuple[AnnData, TorchEncoder]:
    rng = np.random.default_rng(5)
    counts = rng.poisson(3.0, (120, 6)).astype(np.float32)
    adata = AnnData(X=sp.csr_matrix(counts))
    adata.var_names = [f"g{i}" for i in range(6)]
    layer = nn.Linear(6, 2)
    with torch.no_grad():
        layer.weight.copy_(torch.as_tensor(_W))
        layer.bias.copy_(torch.as_tensor(_B))
    encoder = TorchEncoder(nn.Sequential(layer), list(adata.var_names), name="lin")
    _with_activations(adata, encoder, torch.relu)
    # Integer counts give tied distances; a stored continuous embedding makes each nearest neighbour unique.
    adata.obsm["X_lin"] = adata.obsm["X_lin"] + rng.normal(0, 0.1, adata.obsm["X_lin"].shape).astype(np.float32)
    return adata, encoder


def _reference(adata: AnnData, method: str, n_cells: int) -> np.ndarray:
    """Scores computed cell by cell and gene by gene in NumPy, straight from each strategy's definition."""
    x = adata.X.toarray().astype(np.float64)
    act = np.maximum(x @ _W.T + _B, 0)
    emb = adata.obsm["X_lin"].astype(np.float64)
    nonzero = np.where(x != 0, x, np.nan)
    high = np.nanquantile(nonzero, 0.95, axis=0)
    out = np.zeros((x.shape[1], 2))
    for k in range(2):
        cells = np.argsort(-act[:, k], kind="stable")[:n_cells]
        cells = cells[act[cells, k] > 0]
        for c in cells:
            if method == "counterfactual":
                dist = ((emb - emb[c]) ** 2).sum(axis=1)
                dist[act[:, k] > 0] = np.inf
                dist[c] = np.inf
                source = x[np.argmin(dist)]
            if method == "baseline":
                source = x[act[:, k] == 0].mean(axis=0)
            for g in np.flatnonzero(x[c]):
                new = x[c].copy()
                new[g] = {"mask": 0.0, "mean": x[:, g].mean(), "overexpress": max(x[c, g], high[g])}.get(
                    method, source[g] if method in {"counterfactual", "baseline"} else None
                )
                after = max(new @ _W[k] + _B[k], 0)
                out[g, k] += np.sign(new[g] - x[c, g]) * (after - act[c, k])  # + : the concept moves with the gene
        out[:, k] /= act[cells, k].sum()
    return out


@pytest.mark.parametrize("method", ["mask", "mean", "overexpress", "counterfactual", "baseline"])
def test_exact_scores_match_reference(method):
    adata, encoder = _linear_case()
    tl.attribute(adata, encoder=encoder, sae=torch.relu, method=method, n_cells=25, engine="exact")
    np.testing.assert_allclose(adata.varm["concepts_attribution_raw"], _reference(adata, method, 25), atol=2e-5)


def test_signs_follow_definitions():
    adata, encoder = _linear_case()
    score = {}
    for method in ("mask", "overexpress", "counterfactual"):
        out = tl.attribute(adata, encoder=encoder, sae=torch.relu, method=method, n_cells=25, copy=True)
        score[method] = out.varm["concepts_attribution_raw"][:, 0]
    # Gene 0 raises concept 0 and gene 1 lowers it. Masking gene 0 lowers the concept (removal score > 0),
    # masking gene 1 raises it (< 0); raising them moves it the same ways (overexpress: > 0, < 0).
    assert score["mask"][0] > 0 and score["mask"][1] < 0
    assert score["overexpress"][0] > 0 and score["overexpress"][1] < 0
    # The non-activating neighbour has less of gene 0 and more of gene 1: taking either of its values lowers
    # the concept. Gene 0 was lowered, so the concept moved with it (> 0); gene 1 was raised and the concept
    # fell, so more of gene 1 means less concept (< 0): the concept fires on its lack, the sign says so.
    assert score["counterfactual"][0] > 0 and score["counterfactual"][1] < 0
    assert (score["mask"][3:] == 0).all()  # genes of the other concept do not act
    table = show()
    assert set(table["name"]) == {"mask", "counterfactual", "baseline", "mean", "overexpress"}
    assert table.set_index("name").loc["overexpress", "score"] == "perturbed - original"


def test_fast_is_exact_for_a_linear_model_and_screen_confirms():
    adata, encoder = _linear_case()
    shifted = lambda emb: emb + 10.0  # noqa: E731  (always active: the whole model is linear)
    _with_activations(adata, encoder, shifted)
    out = {
        engine: tl.attribute(adata, encoder=encoder, sae=shifted, n_cells=25, engine=engine, n_confirm=2, copy=True)
        for engine in ("exact", "fast", "screen+confirm")
    }
    exact = out["exact"].varm["concepts_attribution_raw"]
    # For a linear model the first-order estimate of each perturbation is exact.
    np.testing.assert_allclose(out["fast"].varm["concepts_attribution_raw"], exact, atol=1e-5)
    params = out["screen+confirm"].uns["concepts_attribution"]["params"]
    assert 0 < params["n_forwards"] < params["n_forwards_exact"]
    assert params["n_gradients"] > 0
    assert out["fast"].uns["concepts_attribution"]["params"]["n_forwards"] == 0


def test_screen_confirm_replaces_estimates_with_exact_values():
    adata = planted_counts()
    encoder, components = _random_network(adata.n_vars, seed=2), _topk(3)
    _with_activations(adata, encoder, components)
    run = {
        engine: tl.attribute(adata, encoder=encoder, sae=components, n_cells=15, engine=engine, n_confirm=5, copy=True)
        for engine in ("exact", "fast", "screen+confirm")
    }
    exact = run["exact"].varm["concepts_attribution_raw"]
    fast = run["fast"].varm["concepts_attribution_raw"]
    confirmed = run["screen+confirm"].varm["concepts_attribution_raw"]
    # Exact rows replace their estimates in every concept they serve: closer to exact than fast alone.
    assert np.abs(confirmed - exact).sum() < 0.75 * np.abs(fast - exact).sum()
    for k in range(exact.shape[1]):
        if np.abs(exact[:, k]).max() == 0:
            continue
        top = np.argsort(-np.abs(fast[:, k]))[:5]
        np.testing.assert_allclose(confirmed[top, k], exact[top, k], atol=1e-5)


def test_screen_follows_the_sae_switching_concepts():
    """Linear encoder, Top-1 components: the screen linearises only the encoder, so even switches are exact."""
    adata, encoder = _linear_case()
    top1 = _topk(1)
    _with_activations(adata, encoder, top1)
    exact = tl.attribute(adata, encoder=encoder, sae=top1, n_cells=25, engine="exact", copy=True)
    fast = tl.attribute(adata, encoder=encoder, sae=top1, n_cells=25, engine="fast", copy=True)
    score = exact.varm["concepts_attribution_raw"]
    # Masking gene 1 (which lowers concept 0) hands some of concept 1's cells to concept 0: concept 1 moves
    # although it does not read gene 1.
    assert score[1, 1] > 1e-3
    np.testing.assert_allclose(fast.varm["concepts_attribution_raw"], score, atol=1e-5)
    assert (fast.varm["concepts_attribution_exact"] == 0).all()


def test_screen_confirm_budget_and_record_on_planted(planted):
    adata, encoder, concepts = planted
    exact = tl.attribute(adata, encoder=encoder, sae=concepts, engine="exact", copy=True)
    out = tl.attribute(
        adata, encoder=encoder, sae=concepts, engine="screen+confirm", n_confirm=0, confirm_share=0.2, copy=True
    )
    params = out.uns["concepts_attribution"]["params"]
    assert params["n_forwards"] == round(0.2 * params["n_forwards_exact"])
    assert params["n_forwards_exact"] == exact.uns["concepts_attribution"]["params"]["n_forwards"]
    assert params["n_gradients"] > 0 and params["n_screened"] == params["n_forwards_exact"]
    e, s = exact.varm["concepts_attribution_raw"], out.varm["concepts_attribution_raw"]
    share = out.varm["concepts_attribution_exact"]
    assert ((share >= 0) & (share <= 1)).all() and (share == 1).any() and (share < 1).any()
    np.testing.assert_allclose(s[share == 1], e[share == 1], atol=1e-5)  # fully confirmed scores are exact
    for k in range(3):
        assert set(np.argsort(-s[:, k])[:5]) == set(np.argsort(-e[:, k])[:5]) == set(DRIVERS[k])
        top = np.argsort(-np.abs(e[:, k]))[:10]
        assert stats.spearmanr(e[top, k], s[top, k]).statistic >= 0.9


@pytest.mark.parametrize("method", ["counterfactual", "overexpress"])
def test_confirming_every_row_gives_exact(planted, method):
    adata, encoder, concepts = planted
    exact = tl.attribute(adata, encoder=encoder, sae=concepts, method=method, engine="exact", copy=True)
    out = tl.attribute(
        adata, encoder=encoder, sae=concepts, method=method, engine="screen+confirm", n_confirm=0, confirm_share=1.0,
        copy=True,
    )  # fmt: skip
    np.testing.assert_allclose(out.varm["concepts_attribution_raw"], exact.varm["concepts_attribution_raw"], atol=1e-5)
    np.testing.assert_allclose(
        out.varm["concepts_attribution_fraction"], exact.varm["concepts_attribution_fraction"], atol=1e-6
    )
    assert (out.varm["concepts_attribution_exact"][out.varm["concepts_attribution_ncells"] > 0] == 1).all()
