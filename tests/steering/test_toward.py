"""Steering toward a state on a planted model: the one separating concept is chosen and moves the cells."""

import numpy as np
import pandas as pd
import pytest

import scconcepts as scc
from scconcepts._errors import InputError
from scconcepts.steering import choose_concepts, control_changes, goal_codes, move_codes

from ._planted_toward import DOWN, N_CONCEPTS, UP, planted_toward


@pytest.fixture(scope="module")
def steered():
    adata, encoder, sae = planted_toward(seed=0)
    result = scc.tl.steer(adata, cells="low", toward="high", encoder=encoder, sae=sae, enrich=False)
    return adata, result


def test_the_separating_concept_is_the_one_chosen(steered):
    _, result = steered
    assert list(result["concepts"]["concept"]) == [0]
    assert result["n_concepts"] == 1 and result["n_dictionary"] == N_CONCEPTS
    assert result["concepts"]["effect"].iloc[0] > 5  # far past the 0.5 threshold; the others are noise


def test_steering_moves_the_cells_and_the_controls_do_not(steered):
    _, result = steered
    controls = result["controls"].set_index("control")
    assert controls.loc["steered", "landing_knn"] >= 0.9
    assert controls.loc["steered", "landing_classifier"] >= 0.9
    assert controls.loc["centroid", "landing_knn"] >= 0.9  # the upper bound: the groups differ along concept 0 only
    for name in ("sign_flipped", "random_concepts"):
        assert controls.loc[name, "landing_knn"] <= 0.1 and controls.loc[name, "landing_classifier"] <= 0.1
    assert controls.loc["random_directions", "landing_knn"] <= 0.3  # a random direction can graze concept 0
    np.testing.assert_allclose(controls["mean_norm"], controls.loc["steered", "mean_norm"], rtol=1e-6)


def test_the_planted_genes_move_the_right_way(steered):
    _, result = steered
    genes = result["genes"].set_index("gene")
    assert genes.loc[UP + DOWN, "beyond_null"].all()
    assert (genes.loc[UP, "lfc"] > 0.1).all() and (genes.loc[DOWN, "lfc"] < -0.1).all()
    controls = result["controls"].set_index("control")
    assert controls.loc["steered", "de_right_way"] >= 5  # all five planted genes are among the top DE genes
    assert controls.loc["random_concepts", "de_right_way"] <= 1
    assert set(UP + DOWN) <= set(result["reference_de"]["gene"].head(8))


def test_recorded_beside_the_concept_steering(steered):
    adata, result = steered
    assert adata.uns["concepts_steering"]["toward"] is result
    _, encoder, sae = planted_toward(seed=0)
    scc.tl.steer(adata, concept=1, value="off", encoder=encoder, sae=sae, enrich=False, n_null=2)
    kept = adata.uns["concepts_steering"]
    assert kept["concept"] == 1 and kept["toward"] is result


def test_strength_and_quantile_matching():
    rng = np.random.default_rng(0)
    source, target = rng.uniform(0, 1, (50, 3)), rng.uniform(2, 3, (60, 3))
    chosen = np.array([1])
    half = move_codes(source, goal_codes(source, target, chosen), chosen, 0.5)
    np.testing.assert_allclose(half[:, 1], (source[:, 1] + target[:, 1].mean()) / 2)
    np.testing.assert_array_equal(half[:, [0, 2]], source[:, [0, 2]])
    quantile = goal_codes(source, target, chosen, match="quantile")[:, 0]
    assert (np.argsort(quantile) == np.argsort(source[:, 1])).all()  # each cell keeps its rank
    assert target[:, 1].min() <= quantile.min() and quantile.max() <= target[:, 1].max()


def test_reproducible_only_and_a_given_list():
    rng = np.random.default_rng(1)
    source, target = rng.normal(1, 0.1, (40, 4)).clip(0), rng.normal(1, 0.1, (40, 4)).clip(0)
    target[:, 2] += 1.0
    target[:, 3] += 0.5
    table = pd.DataFrame({"label": list("abcd"), "reproducible": [True, True, False, True]})
    assert list(choose_concepts(source, target, table=table)["concept"]) == [2, 3]
    assert list(choose_concepts(source, target, table=table, reproducible_only=True)["concept"]) == [3]
    assert list(choose_concepts(source, target, concepts="1,c", table=table)["concept"]) == [2, 1]


def test_controls_match_the_norm_cell_by_cell():
    rng = np.random.default_rng(2)
    atoms = np.linalg.qr(rng.standard_normal((6, 6)))[0]
    change = rng.standard_normal((30, 6))
    moves = control_changes(change, atoms, np.array([0, 1]), rng.standard_normal(6), n_draws=3, seed=0)
    norms = np.linalg.norm(change, axis=1)
    for draws in moves.values():
        for draw in draws:
            np.testing.assert_allclose(np.linalg.norm(draw, axis=1), norms, rtol=1e-9)


@pytest.mark.parametrize(
    ("cells", "toward", "message"),
    [
        ("low", "middle", "neither a cell type"),
        ("low", "low", "same cells"),
        ("low", "depth > 5", "matches no cell"),
        ("low", "cell_type == 'low' or depth == 0", "share"),
        ("", "high", "empty"),
    ],
)
def test_bad_groups_are_refused(cells, toward, message):
    adata, encoder, sae = planted_toward(n_per_group=20, seed=0)
    with pytest.raises(InputError, match=message):
        scc.tl.steer(adata, cells=cells, toward=toward, encoder=encoder, sae=sae, n_null=2, n_draws=2)
    assert "concepts_steering" not in adata.uns
