"""Attribution recovers planted driver genes and ignores a correlated decoy that DE ranks high."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pytest

from scconcepts import tl
from scconcepts.tl._attribution_table import attribution_table

from .conftest import DECOY, DRIVERS


@pytest.mark.parametrize("engine", ["exact", "shortcut"])
def test_drivers_first_decoy_low(planted, engine):
    adata, encoder, concepts = planted
    tl.attribute(adata, encoder=encoder, sae=concepts, n_cells=30, engine=engine)
    score = adata.varm["concepts_attribution"]
    padj = adata.varm["concepts_attribution_padj"]
    de = adata.varm["concepts_de"]
    for k, drivers in DRIVERS.items():
        top5 = set(np.argsort(-score[:, k], kind="stable")[:5])
        assert top5 == set(drivers), f"concept {k}: top genes {sorted(top5)}"
        assert (padj[drivers, k] < 0.05).all()
    # The decoy copies driver 0: DE ranks it among concept 0's top genes, attribution gives it nothing.
    de_rank = int(np.flatnonzero(np.argsort(-de[:, 0], kind="stable") == DECOY)[0])
    assert de_rank < 6
    assert score[DECOY, 0] == 0
    assert padj[DECOY, 0] >= 0.05
    attribution_rank = int(np.flatnonzero(np.argsort(-score[:, 0], kind="stable") == DECOY)[0])
    assert attribution_rank >= 5
    agreement = adata.uns["concepts_attribution"]["agreement"]
    assert list(agreement["concept"]) == [0, 1, 2]
    assert (agreement["top20_overlap"] <= 1).all()


def test_cells_used_are_recorded_and_table(planted, tmp_path):
    adata, encoder, concepts = planted
    tl.attribute(adata, encoder=encoder, sae=concepts, n_cells=10, concepts=[1])
    adata.write_h5ad(tmp_path / "a.h5ad")
    adata = ad.read_h5ad(tmp_path / "a.h5ad")
    cells = adata.uns["concepts_attribution"]["cells"]
    assert list(cells["concept"].unique()) == [1]
    assert len(cells) == 10
    activation = adata.obsm["X_concepts"][:, 1].toarray().ravel()
    expected = adata.obs_names[np.argsort(-activation, kind="stable")[:10]]
    assert set(cells["cell"]) == set(expected)
    assert (adata.varm["concepts_attribution"][:, [0, 2]] == 0).all()
    table = attribution_table(adata)
    assert set(table.columns) >= {"concept", "gene", "score", "pval", "padj", "n_cells"}
    assert set(table["concept"]) == {1}
    assert table["gene"].iloc[0] in {f"g{g}" for g in DRIVERS[1]}
    assert table["n_cells"].max() <= 10
    assert adata.uns["concepts_attribution"]["params"]["method"] == "baseline"


def test_random_cells_are_activating(planted):
    adata, encoder, concepts = planted
    tl.attribute(adata, encoder=encoder, sae=concepts, n_cells=12, cells="random", seed=3, concepts=[2])
    cells = adata.uns["concepts_attribution"]["cells"]
    assert len(cells) == 12 and (cells["activation"] > 0).all()
    activation = adata.obsm["X_concepts"][:, 2].toarray().ravel()
    top12 = set(adata.obs_names[np.argsort(-activation)[:12]])
    assert set(cells["cell"]) != top12
