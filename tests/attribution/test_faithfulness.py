"""``tl.faithfulness``: the planted concepts' attributed genes are marked faithful, a wrong ranking is not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch

from scconcepts import tl
from scconcepts._errors import InputError
from scconcepts.evaluation import deletion_fall
from scconcepts.evaluation._deletion import deletion_falls
from scconcepts.stats._faithfulness import COLUMNS, faithfulness_summary

from .conftest import DRIVERS, N_GENES


@pytest.fixture
def attributed(planted):
    adata, encoder, concepts = planted
    adata.uns["concepts"] = {"table": pd.DataFrame({"label": ["a", "b", "c"]}, index=["0", "1", "2"])}
    tl.attribute(adata, encoder=encoder, sae=concepts, n_cells=30)
    return adata, encoder, concepts


def test_planted_concepts_are_faithful_and_the_table_gains_the_columns(attributed):
    adata, encoder, concepts = attributed
    frame = tl.faithfulness(adata, encoder=encoder, sae=concepts)
    table = adata.uns["concepts"]["table"]
    assert set(COLUMNS) <= set(table.columns) and list(table["label"]) == ["a", "b", "c"]  # earlier columns kept
    assert table["faithful"].tolist() == [True, True, True]
    # the top-10 attributed genes hold the five drivers: the concept is gone; random genes leave most of it
    assert (frame["fall_attributed"] > 0.9).all(), frame
    assert (frame["fall_random"] + 2 * frame["fall_random_sd"] < 0.7).all(), frame
    summary = adata.uns["concepts"]["faithfulness"]
    assert summary["share_beats_de"] == summary["share_beats_random"] == 1.0 and summary["n_genes"] == 10


def test_a_ranking_that_misses_the_drivers_is_not_faithful(attributed):
    adata, encoder, concepts = attributed
    score = np.zeros((N_GENES, 3), dtype=np.float32)
    for k, genes in DRIVERS.items():  # every gene but the concept's drivers ranks first
        score[:, k] = 1.0
        score[genes, k] = -1.0
    adata.varm["concepts_attribution"] = score
    frame = tl.faithfulness(adata, encoder=encoder, sae=concepts, n_genes=5)
    assert not frame["faithful"].any(), frame
    assert (frame["fall_attributed"] < frame["fall_de"] - 0.5).all(), frame
    summary = faithfulness_summary(adata.uns["concepts"]["table"])
    assert summary["share_beats_de"] == 0.0 and summary["share_faithful"] == 0.0


def test_the_runs_de_is_used_and_computed_only_when_absent(attributed, monkeypatch):
    adata, encoder, concepts = attributed
    with_de = tl.faithfulness(adata, encoder=encoder, sae=concepts, n_genes=3)
    adata.varm["concepts_de"] = np.zeros_like(adata.varm["concepts_de"])  # the stored DE is what is read
    flat = tl.faithfulness(adata, encoder=encoder, sae=concepts, n_genes=3)
    assert not np.allclose(flat["fall_de"], with_de["fall_de"])
    del adata.varm["concepts_de"]
    recomputed = tl.faithfulness(adata, encoder=encoder, sae=concepts, n_genes=3)
    pd.testing.assert_frame_equal(recomputed, with_de)


def test_a_dead_concept_gets_no_fall_and_is_not_faithful(attributed):
    adata, encoder, concepts = attributed
    adata.obsm["X_concepts"] = sp.csr_matrix(adata.obsm["X_concepts"].multiply(np.array([[1.0, 1.0, 0.0]])))
    frame = tl.faithfulness(adata, encoder=encoder, sae=concepts)
    assert frame.loc[2, list(COLUMNS[:4])].isna().all() and not frame.loc[2, "faithful"]
    assert frame.loc[[0, 1], "faithful"].all()
    assert adata.uns["concepts"]["faithfulness"]["n_concepts"] == 2


def test_batched_falls_equal_one_forward_per_set(planted):
    """Several concepts and several batches per concept give deletion_fall's figures."""
    adata, encoder, concepts = planted
    x, acts = sp.csr_matrix(adata.X), sp.csr_matrix(adata.obsm["X_concepts"])
    rng = np.random.default_rng(1)
    sets = [{"a": rng.choice(N_GENES, 4, replace=False), "b": np.array(DRIVERS[k][:2])} for k in range(3)]
    batched = deletion_falls(encoder, concepts.encode, x, acts, np.arange(3), sets, n_random=5, batch_size=70)
    forwards = []
    original = concepts.encode

    def counting(emb: torch.Tensor) -> torch.Tensor:
        forwards.append(emb.shape[0])
        return original(emb)

    deletion_falls(encoder, counting, x, acts, np.arange(3), sets, n_random=5)
    assert len(forwards) == 3 and set(forwards) == {8 * 50}  # one forward per concept: before, 2 sets, 5 draws
    for k in range(3):
        alone = deletion_fall(encoder, concepts.encode, x, acts, k, sets[k], n_random=5)
        assert batched[k] == pytest.approx(alone, abs=1e-6)


@pytest.mark.parametrize("option", [{"n_genes": 0}, {"n_random": 1.5}, {"n_cells": True}])
def test_bad_options_are_refused(attributed, option):
    adata, encoder, concepts = attributed
    with pytest.raises(InputError, match=next(iter(option))):
        tl.faithfulness(adata, encoder=encoder, sae=concepts, **option)


def test_without_attribution_it_says_what_to_run(planted):
    adata, encoder, concepts = planted
    adata.uns["concepts"] = {}
    with pytest.raises(InputError, match=r"tl\.attribute"):
        tl.faithfulness(adata, encoder=encoder, sae=concepts)
