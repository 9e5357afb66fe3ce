"""One definition of a concept's cell-type shares: activation per cell of each type, read against the type's size."""

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from scconcepts.stats import type_shares
from scconcepts.tl import label_concepts
from scconcepts.tl._concept_table import concept_table

BIG, SMALL, OTHER = 500, 20, 200


def unequal_sizes() -> tuple[np.ndarray, np.ndarray]:
    """A big and a small type; concept 0 fires equally per cell on both, concept 1 a little more on the small one."""
    labels = np.array(["big"] * BIG + ["small"] * SMALL + ["other"] * OTHER)
    acts = np.zeros((labels.size, 2))
    acts[: BIG + SMALL, 0] = 1.0
    acts[:BIG, 1] = 1.0
    acts[BIG : BIG + SMALL, 1] = 1.2
    return acts, labels


def test_equal_firing_per_cell_gives_equal_shares_whatever_the_sizes():
    acts, labels = unequal_sizes()
    shares = type_shares(sparse.csr_matrix(acts), labels)
    frame = shares.frame(0)
    assert frame.loc["big", "share"] == pytest.approx(0.5) and frame.loc["small", "share"] == pytest.approx(0.5)
    assert frame.loc["other", "share"] == 0
    assert frame.loc["big", "mass_share"] == pytest.approx(BIG / (BIG + SMALL))  # the raw mass: size decides
    assert frame.loc["big", "lift"] == pytest.approx(frame.loc["small", "lift"])  # lift ranks like the share
    np.testing.assert_allclose(shares.share.sum(axis=0), 1.0)


def test_the_big_type_is_not_top_by_size_alone():
    acts, labels = unequal_sizes()
    table = concept_table(sparse.csr_matrix(acts), pd.Series(labels))
    row = table.loc["1"]
    assert row["top_cell_type"] == "small"  # 24 of 524 units of mass, but 1.2 per cell against 1.0
    assert row["top_cell_type_share"] == pytest.approx(1.2 / 2.2)
    assert row["top_cell_type_mass_share"] == pytest.approx(24 / 524)
    assert row["top_cell_type_lift"] == pytest.approx((24 / 524) / (SMALL / labels.size))
    assert row["label"] == "small (55%)"
    assert table.loc["0", "top_cell_type_share"] == pytest.approx(0.5)


def test_labels_name_both_types_of_an_equal_concept_and_the_small_one_first():
    acts, labels = unequal_sizes()
    adata = ad.AnnData(np.zeros((labels.size, 1)))
    adata.obs["cell_type"] = labels
    adata.obsm["X_concepts"] = sparse.csr_matrix(acts)
    adata.uns["concepts"] = {"table": concept_table(adata.obsm["X_concepts"], adata.obs["cell_type"])}
    adata.uns["concepts_enrichment"] = pd.DataFrame()
    label_concepts(adata)
    table = adata.uns["concepts"]["table"]
    assert table.loc["0", "cell_types"] == "big/small"  # a tie: both types, in the table's order
    assert table.loc["1", "cell_types"] == "small/big"
    assert table.loc["1", "label"].startswith("small/big:")


def test_dead_concepts_and_labels_of_other_kinds():
    acts = np.zeros((4, 2))
    acts[:2, 0] = 1.0
    shares = type_shares(acts, pd.Categorical(["a", "a", "b", "b"]))
    assert shares.top().tolist() == [0, -1]
    assert shares.share[:, 1].tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="labels"):
        type_shares(acts, ["a", "b"])
