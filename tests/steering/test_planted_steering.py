"""Steering through a planted linear generative model: exactly the concept's genes move, with the right sign."""

import numpy as np
import pytest

import scconcepts as scc
from scconcepts._errors import InputError
from scconcepts.tl._steer import steer_embedding, top_genes

from ._planted import N_GENES, planted, planted_genes


@pytest.mark.parametrize("concept", [0, 2])
def test_switching_off_moves_exactly_the_planted_genes(concept):
    adata, encoder, sae = planted()
    result = scc.tl.steer(adata, concept=concept, value="off", encoder=encoder, sae=sae, enrich=False)
    genes = result["genes"].set_index("gene")
    up, down = planted_genes(concept)  # the concept raises `up`: switching it off lowers them
    called = set(genes.index[genes["beyond_null"]])
    assert called == set(up) | set(down)
    assert (genes.loc[up, "lfc"] < -0.05).all()
    assert (genes.loc[down, "lfc"] > 0.05).all()
    others = genes.drop(index=up + down)
    assert np.abs(others["lfc"]).max() < 1e-4
    lowered, raised = top_genes(result, 10)
    assert set(lowered["gene"]) == set(up) and set(raised["gene"]) == set(down)
    assert result["n_cells"] == result["n_active"] == int((adata.obs["cell_type"] == f"type{concept}").sum())
    assert result["mean_activation_steered"] == 0.0


def test_own_activation_changes_nothing():
    adata, encoder, sae = planted()
    for value in ("x1", None):
        if value is None:
            rows = np.flatnonzero(adata.obs["cell_type"] == "type1")
            _, current, _ = steer_embedding(sae, adata.obsm["X_torch"][rows], 1, 0.0)
            value, cells = current, "type1"
        else:
            cells = None
        result = scc.tl.steer(adata, concept=1, value=value, cells=cells, encoder=encoder, sae=sae, enrich=False)
        genes = result["genes"]
        assert np.abs(genes["lfc"]).max() == 0.0
        assert not genes["beyond_null"].any()
        assert result["embedding_shift"] == 0.0
        np.testing.assert_array_equal(result["umap_original"], result["umap_steered"])


def test_unsteered_embedding_is_returned_exactly():
    adata, _, sae = planted()
    x = adata.obsm["X_torch"] + np.random.default_rng(1).normal(0, 0.3, adata.obsm["X_torch"].shape)  # SAE error
    steered, current, _ = steer_embedding(sae, x.astype(np.float32), 3, "x1")
    np.testing.assert_array_equal(steered, x.astype(np.float32))
    steered, current, target = steer_embedding(sae, x.astype(np.float32), 3, "x2")
    moved = np.linalg.norm(steered - x, axis=1)
    np.testing.assert_allclose(moved, np.abs(target - current), rtol=1e-4, atol=1e-5)


def test_switching_off_moves_cells_away_from_their_type():
    adata, encoder, sae = planted()
    result = scc.tl.steer(adata, concept=0, value="off", cells="type0", encoder=encoder, sae=sae, enrich=False)
    shares = result["landing"].set_index("cell_type")
    assert shares.loc["type0", "share_original"] > 0.9
    assert shares.loc["type0", "share_steered"] < 0.5 * shares.loc["type0", "share_original"]


def test_bad_requests_say_what_is_wrong():
    adata, encoder, sae = planted()
    with pytest.raises(InputError, match="unknown concept"):
        scc.tl.steer(adata, concept=99, encoder=encoder, sae=sae)
    with pytest.raises(InputError, match="neither a cell type"):
        scc.tl.steer(adata, concept=0, cells="no such ==", encoder=encoder, sae=sae)
    with pytest.raises(InputError, match="not understood"):
        scc.tl.steer(adata, concept=0, value="lots", encoder=encoder, sae=sae)
    with pytest.raises(InputError, match="active in none"):
        scc.tl.steer(adata, concept=0, cells="type1", encoder=encoder, sae=sae)
    adata, encoder, sae = planted(with_decoder=False)
    with pytest.raises(InputError, match="no expression decoder"):
        scc.tl.steer(adata, concept=0, encoder=encoder, sae=sae)
    result = scc.tl.steer(adata, concept=0, encoder=encoder, sae=sae, expression=False)
    assert "genes" not in result and result["embedding_shift"] > 0
    assert N_GENES == len(encoder.genes)


def test_plot_shows_the_planted_genes(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    adata, encoder, sae = planted()
    scc.tl.steer(adata, concept=0, value="off", encoder=encoder, sae=sae, enrich=False)
    ax = scc.pl.steering(adata, n_genes=3, show=False, save=tmp_path / "steer.png")
    names = [t.get_text() for t in ax.get_yticklabels()]
    grey = [matplotlib.colors.to_hex(bar.get_facecolor()) == "#9ca3af" for bar in ax.containers[0]]
    up, down = planted_genes(0)
    assert set(up) | set(down) <= set(names)
    assert {n for n, g in zip(names, grey, strict=True) if not g} == set(up) | set(down)  # others: grey, in the null
    assert (tmp_path / "steer.png").stat().st_size > 0
    with pytest.raises(InputError, match=r"tl\.steer first"):
        scc.pl.steering(planted()[0])
