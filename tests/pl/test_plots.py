"""Every ``scc.pl`` plot rendered (Agg) on a results folder with planted structure, and what it shows checked."""

import anndata as ad
import matplotlib
import numpy as np
import pytest
from PIL import Image

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from benchmarks._synthetic import make_synthetic_results

import scconcepts as scc
from scconcepts._errors import InputError
from scconcepts.results import RESULTS_H5AD


@pytest.fixture(scope="module")
def adata(tmp_path_factory):
    folder = make_synthetic_results(tmp_path_factory.mktemp("plots") / "results", labels={3: "type D: planted 3"})
    return ad.read_h5ad(folder / RESULTS_H5AD)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _png_is_drawn(path):
    rgb = np.asarray(Image.open(path).convert("RGB")).astype(int)
    assert (rgb.max(axis=2) - rgb.min(axis=2) > 60).sum() > 100, "no coloured pixel"


def test_concepts_to_obs_feeds_scanpy_umap(adata):
    import scanpy as sc

    data = adata.copy()
    columns = scc.tl.concepts_to_obs(data, [3, "concept_5"])
    assert columns == ["concept_3", "concept_5"]
    np.testing.assert_allclose(data.obs["concept_3"], data.obsm["X_concepts"][:, 3].toarray().ravel())
    ax = sc.pl.umap(data, color="concept_3", show=False)
    assert ax.get_title() == "concept_3"
    with pytest.raises(InputError, match="ids run from 0 to 39"):
        scc.tl.concepts_to_obs(data, [40])
    assert len(scc.tl.concepts_to_obs(data)) == 40


def test_concepts_on_umap_colour_the_active_cells(adata, tmp_path):
    axes = scc.pl.concepts(adata, concepts=[3, 4], basis="umap", show=False, save=tmp_path / "concepts.png")
    assert len(axes) == 2
    active = adata.obsm["X_concepts"][:, 3].nnz
    coloured = axes[0].collections[1]
    assert coloured.get_offsets().shape[0] == active  # the grey layer holds every cell, the coloured one the active
    assert axes[0].get_title() == "concept 3: type D: planted 3"  # the full label
    _png_is_drawn(tmp_path / "concepts.png")
    _fig, ax = plt.subplots()
    assert scc.pl.concepts(adata, concepts="7", ax=ax, show=False) is ax
    with pytest.raises(InputError, match="X_tsne"):
        scc.pl.concepts(adata, concepts=[3], basis="tsne", show=False)


def test_attribution_against_de_names_the_planted_genes(adata, tmp_path):
    ax = scc.pl.attribution(adata, concept=7, n_genes=1, show=False, save=tmp_path / "attribution.png")
    named = {t.get_text() for t in ax.texts}
    assert {"G7", "G9"} <= named  # G7 drives concept 7 (attribution), G9 is its DE gene
    assert ax.get_xlabel().startswith("attribution")
    _png_is_drawn(tmp_path / "attribution.png")
    bare = adata.copy()
    del bare.varm["concepts_de"]
    with pytest.raises(InputError, match="concepts_de"):
        scc.pl.attribution(bare, concept=7, show=False)


def test_enrichment_dot_plot_shows_elim_kept_terms(adata, tmp_path):
    ax = scc.pl.enrichment(adata, concepts=[1, 2, 3], show=False, save=tmp_path / "enrichment.png")
    terms = [t.get_text() for t in ax.get_yticklabels()]
    assert terms == ["planted process 1", "planted process 2", "planted process 3"]  # parents fail elim
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "3"]
    _png_is_drawn(tmp_path / "enrichment.png")


def test_concept_scores_plot_present_columns_and_say_when_absent(adata, tmp_path):
    with pytest.raises(InputError, match="reproducibility"):
        scc.pl.concept_scores(adata, show=False)
    data = adata.copy()
    table = data.uns["concepts"]["table"]
    rng = np.random.default_rng(0)
    table["reproducibility"] = rng.uniform(0.2, 1.0, len(table))
    table["explanation_auroc"] = rng.uniform(0.4, 1.0, len(table))
    axes = scc.pl.concept_scores(data, show=False, save=tmp_path / "scores.png")
    assert len(axes) == 2 and len(axes[0].patches) == 40
    heights = [p.get_height() for p in axes[1].patches]
    assert heights == sorted(heights, reverse=True)
    assert axes[1].lines[0].get_ydata()[0] == 0.5  # chance AUROC drawn
    _png_is_drawn(tmp_path / "scores.png")
