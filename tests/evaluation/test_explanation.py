"""Explanation score: a planted program's genes predict its component in held-out cells; random gene sets do not."""

import numpy as np
import pytest
import scipy.sparse as sp

from scconcepts.evaluation._explanation import (
    both_signs,
    explanation_scores,
    log_normalise,
    specific_genes,
    summarise_explanation,
    top_genes_by_score,
)

N_CELLS, N_GENES, N_PROGRAMS, SIZE = 600, 300, 3, 15


@pytest.fixture(scope="module")
def planted():
    rng = np.random.default_rng(0)
    strength = np.zeros((N_CELLS, N_PROGRAMS))
    group = rng.integers(0, N_PROGRAMS + 1, N_CELLS)  # group N_PROGRAMS: no program on
    for p in range(N_PROGRAMS):
        on = group == p
        strength[on, p] = rng.gamma(2.0, 1.0, on.sum())
    rate = np.full((N_CELLS, N_GENES), 0.5) * rng.gamma(5.0, 0.2, N_GENES)
    for p in range(N_PROGRAMS):
        rate[:, p * SIZE : (p + 1) * SIZE] += 2.0 * strength[:, [p]]
    counts = sp.csr_matrix(rng.poisson(rate).astype(np.float32))
    train = np.sort(rng.choice(N_CELLS, 400, replace=False))
    test = np.setdiff1d(np.arange(N_CELLS), train)
    return log_normalise(counts), strength, train, test


def test_planted_program_genes_explain_their_component(planted):
    expression, strength, _, test = planted
    sets = [np.arange(p * SIZE, (p + 1) * SIZE) for p in range(N_PROGRAMS)]
    frame = explanation_scores(expression, strength, sets, test)
    assert (frame["auroc"] > 0.95).all(), frame
    assert (frame["spearman"] > 0.6).all(), frame
    assert frame["auroc_chance"].between(0.35, 0.65).all(), frame  # random sets of the same size
    assert frame["spearman_chance"].abs().max() < 0.15, frame


def test_random_gene_sets_explain_nothing(planted):
    expression, strength, _, test = planted
    rng = np.random.default_rng(1)
    sets = [rng.choice(np.arange(N_PROGRAMS * SIZE, N_GENES), SIZE, replace=False) for _ in range(N_PROGRAMS)]
    summary = summarise_explanation(explanation_scores(expression, strength, sets, test))
    assert abs(summary["explanation_auroc"] - 0.5) < 0.1, summary
    assert abs(summary["explanation_spearman"]) < 0.1, summary


def test_genes_chosen_on_training_cells_recover_the_program(planted):
    expression, strength, train, test = planted
    sets = specific_genes(expression, strength, train, n_genes=SIZE)
    for p, genes in enumerate(sets):
        assert np.isin(genes, np.arange(p * SIZE, (p + 1) * SIZE)).mean() >= 0.8, (p, genes)
    summary = summarise_explanation(explanation_scores(expression, strength, sets, test))
    assert summary["explanation_auroc"] > 0.95 and summary["explanation_auroc_chance"] < 0.65


def test_a_component_unrelated_to_expression_is_not_explained(planted):
    expression, _, train, test = planted
    noise = np.random.default_rng(2).gamma(1.0, 1.0, (N_CELLS, 2))
    sets = specific_genes(expression, noise, train)
    summary = summarise_explanation(explanation_scores(expression, noise, sets, test))
    assert abs(summary["explanation_auroc"] - 0.5) < 0.15, summary


def test_signed_components_are_explained_on_each_side(planted):
    expression, strength, train, test = planted
    signed = strength[:, [0]] - strength[:, [1]]  # positive side program 0, negative side program 1
    sides = both_signs(signed)
    sets = specific_genes(expression, sides, train, n_genes=SIZE)
    assert np.isin(sets[0], np.arange(SIZE)).mean() >= 0.8
    assert np.isin(sets[1], np.arange(SIZE, 2 * SIZE)).mean() >= 0.8
    assert (explanation_scores(expression, sides, sets, test)["auroc"] > 0.9).all()


def test_top_genes_by_score_keeps_positive_scores_only():
    scores = np.array([[3.0, -1.0], [1.0, -2.0], [2.0, 0.5]])
    sets = top_genes_by_score(scores, n_genes=2)
    assert sets[0].tolist() == [0, 2] and sets[1].tolist() == [2]


def _run(planted, attribution: np.ndarray):
    import anndata as ad
    import pandas as pd

    expression, strength, _, test = planted
    rng = np.random.default_rng(3)
    counts = rng.poisson(np.expm1(expression.toarray())).astype(np.float32)  # back to counts, as a run holds them
    adata = ad.AnnData(sp.csr_matrix(counts))
    adata.obs_names = [f"cell{i}" for i in range(N_CELLS)]
    adata.obsm["X_concepts"] = sp.csr_matrix(strength)
    adata.varm["concepts_attribution"] = attribution
    table = pd.DataFrame({"label": [f"concept {p}" for p in range(N_PROGRAMS)]}, index=[str(p) for p in range(3)])
    adata.uns["concepts"] = {"val_cells": np.asarray(adata.obs_names[test]), "table": table, "params": {}}
    return adata


def test_explanation_score_joins_the_concept_table(planted):
    from scconcepts import tl

    attribution = np.zeros((N_GENES, N_PROGRAMS))
    for p in range(N_PROGRAMS):
        attribution[p * SIZE : (p + 1) * SIZE, p] = 1.0  # each concept attributed to its own program
    adata = _run(planted, attribution)
    tl.explanation_score(adata)
    table = adata.uns["concepts"]["table"]
    assert (table["explanation_auroc"] > 0.9).all() and (table["explanation_spearman"] > 0.5).all(), table
    assert table["explanation_auroc_chance"].between(0.35, 0.65).all()
    assert adata.uns["concepts"]["explanation"]["source"] == "attribution"

    wrong = np.roll(attribution, 1, axis=1)  # each concept explained by another concept's program
    adata = _run(planted, wrong)
    tl.explanation_score(adata)
    assert (adata.uns["concepts"]["table"]["explanation_auroc"] < 0.6).all()


def test_explanation_score_is_measured_on_the_test_cells_not_the_validation_cells(planted):
    """Concept activations are scrambled on half of the held-out cells: scoring them must give chance."""
    from scconcepts import tl

    _, strength, _, held_out = planted
    attribution = np.zeros((N_GENES, N_PROGRAMS))
    for p in range(N_PROGRAMS):
        attribution[p * SIZE : (p + 1) * SIZE, p] = 1.0
    clean, scrambled = held_out[::2], held_out[1::2]
    noisy = strength.copy()
    noisy[scrambled] = np.random.default_rng(5).permutation(noisy[scrambled])  # activations unrelated to genes

    def score(test_rows, val_rows):
        adata = _run(planted, attribution)
        adata.obsm["X_concepts"] = sp.csr_matrix(noisy)
        names = adata.obs_names.to_numpy()
        adata.uns["concepts"]["test_cells"], adata.uns["concepts"]["val_cells"] = names[test_rows], names[val_rows]
        tl.explanation_score(adata)
        return adata.uns["concepts"]["explanation"]

    on_clean = score(clean, scrambled)
    assert on_clean["held_out"] == "test" and on_clean["n_held_out"] == len(clean)
    assert on_clean["explanation_auroc"] > 0.9, on_clean
    on_scrambled = score(scrambled, clean)  # the same run with the two splits swapped
    assert on_scrambled["explanation_auroc"] < 0.65, on_scrambled


def test_scores_in_blocks_and_sparse_activations_give_the_same_frame(planted, monkeypatch):
    from scconcepts.evaluation import _explanation

    expression, strength, _, test = planted
    sets = [np.arange(p * SIZE, (p + 1) * SIZE) for p in range(N_PROGRAMS)] + [np.arange(200, 215)]
    activations = np.hstack([strength, strength[:, :1]]).astype(np.float32)
    whole = explanation_scores(expression, activations, sets, test)  # one block: every set scored at once
    monkeypatch.setattr(_explanation, "SCORE_BLOCK_BYTES", 1)  # one component (and its random sets) per block
    blocked = explanation_scores(expression, sp.csr_matrix(activations), sets, test)
    assert whole["auroc"].notna().all()
    assert whole.equals(blocked)
