import numpy as np
import pytest
from anndata import AnnData

from scconcepts._errors import InputError
from scconcepts.tl._umap import cell_map


def _clusters(n_per=150, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 8, (3, 6))
    embedding = np.concatenate([c + rng.normal(0, 1, (n_per, 6)) for c in centres]).astype(np.float32)
    labels = np.repeat(np.arange(3), n_per)
    return AnnData(np.zeros((embedding.shape[0], 1), dtype=np.float32), obsm={"X_emb": embedding}), labels


def _separated(coordinates, labels):
    """Share of cells whose nearest cluster centre on the map is their own cluster's."""
    centres = np.stack([coordinates[labels == c].mean(axis=0) for c in range(3)])
    nearest = np.argmin(((coordinates[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
    return float((nearest == labels).mean())


def test_sampled_map_places_every_cell_and_keeps_clusters_apart():
    adata, labels = _clusters()
    how = cell_map(adata, use_rep="X_emb", max_fit=120)
    assert how == "sample+transform"
    coordinates = adata.obsm["X_umap"]
    assert coordinates.shape == (450, 2) and np.isfinite(coordinates).all()
    assert _separated(coordinates, labels) > 0.95


def test_small_data_get_the_full_map_and_a_given_map_can_be_kept():
    adata, labels = _clusters(n_per=40)
    assert cell_map(adata, use_rep="X_emb") == "full"
    assert _separated(adata.obsm["X_umap"], labels) > 0.95
    given = np.arange(240, dtype=np.float32).reshape(120, 2)
    adata.obsm["X_umap"] = given
    assert cell_map(adata, use_rep="X_emb", keep_existing=True) == "given"
    np.testing.assert_array_equal(adata.obsm["X_umap"], given)
    with pytest.raises(InputError, match="X_nope"):
        cell_map(adata, use_rep="X_nope")
