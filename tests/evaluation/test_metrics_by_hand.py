"""Each metric against a value computed by hand on a tiny case."""

import math

import numpy as np
import pytest
import scipy.sparse as sp

from scconcepts.evaluation import (
    cross_dataset_stability,
    default_grid,
    match_atoms,
    monosemanticity,
    pair_stability,
    purity,
    r2,
    sparsity,
    stability,
    top_cell_ami,
)
from scconcepts.evaluation._monosemanticity import orient


def test_purity_by_hand():
    assert purity(np.array(["a", "a", "b", "a"])) == 0.75
    assert purity(np.array(["x"])) == 1.0
    assert math.isnan(purity(np.array([], dtype=str)))


def test_ami_of_top_cells_by_hand():
    labels = np.array(["a", "a", "b", "b"])
    # top cells exactly one type: membership equals the labels, AMI 1
    assert top_cell_ami(np.array([0, 1]), labels) == pytest.approx(1.0)
    # one of each type: MI = 0. Under permutation the overlap n11 of the two 2-cell groups is 0, 1 or 2 with
    # probabilities 1/6, 4/6, 1/6, MI ln2, 0, ln2: E[MI] = ln2 / 3; both entropies are ln2, so
    # AMI = (0 - ln2/3) / (ln2 - ln2/3) = -0.5
    assert top_cell_ami(np.array([0, 2]), labels) == pytest.approx(-0.5)


def test_monosemanticity_shares():
    labels = np.array(["a"] * 5 + ["b"] * 5)
    acts = np.zeros((10, 3))
    acts[:5, 0] = [5, 4, 3, 2, 1]  # top cells all "a": purity 1
    acts[[0, 1, 5, 6, 7], 1] = [5, 4, 3, 2, 1]  # 2 "a" + 3 "b": purity 0.6
    # component 2 never fires: not scored
    out = monosemanticity(sp.csr_matrix(acts), labels, n_top=5, min_cells=5)
    assert out["n_scored"] == 2
    assert out["purity"] == pytest.approx((1.0 + 0.6) / 2)
    assert out["pure_share"] == pytest.approx(0.5)


def test_orient_flips_a_negative_tail():
    x = np.array([[0.0, 0.0], [0.1, -0.1], [-0.1, 0.1], [5.0, -5.0]])
    oriented = orient(x)
    assert oriented[3, 0] == 5.0 and oriented[3, 1] == 5.0


def test_hungarian_match_by_hand():
    first = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    # a permutation with one sign flip and one atom rotated by 60 degrees in the x-y plane
    second = np.array([[0.0, 0.0, -2.0], [1.0, 0.0, 0.0], [0.5, math.sqrt(3) / 2, 0.0]])
    rows, cols, cos = match_atoms(first, second)
    # |cosine| ignores the sign and the scale: 0->1 (1), 1->2 (sqrt(3)/2), 2->0 (1)
    assert list(cols[np.argsort(rows)]) == [1, 2, 0]
    assert sorted(cos) == pytest.approx([math.sqrt(3) / 2, 1.0, 1.0])
    pair = pair_stability(first, second)
    assert pair["matched_cosine"] == pytest.approx((2 + math.sqrt(3) / 2) / 3)
    assert pair["reproduced"] == pytest.approx(2 / 3)
    triple = stability([first, first, second])
    # pairs: (first, first) -> 1 and 1; the two (first, second) pairs as above
    assert triple["matched_cosine"] == pytest.approx((1 + 2 * pair["matched_cosine"]) / 3)
    assert triple["reproduced_std"] == pytest.approx(np.std([1, 2 / 3, 2 / 3]))
    # across datasets every run meets every run of the other dataset, never one of its own
    cross = cross_dataset_stability([first, second], [second])
    assert cross["n_pairs"] == 2
    assert cross["matched_cosine"] == pytest.approx((pair["matched_cosine"] + 1) / 2)
    assert cross["reproduced"] == pytest.approx((2 / 3 + 1) / 2)
    assert cross["reproduced_std"] == pytest.approx(np.std([2 / 3, 1]))
    assert math.isnan(cross_dataset_stability([first], [])["matched_cosine"])


def test_hungarian_beats_greedy():
    first = np.array([[1.0, 0.0], [0.8, 0.6]])
    second = np.array([[0.8, 0.6], [0.0, 1.0]])
    # greedy would take first[0]-second[0] (0.8) or first[1]-second[0] (1.0) then 0.0 or 0.6;
    # the optimum pairs first[0]-second[0] (0.8) and first[1]-second[1] (0.6): total 1.4 vs 1.0 + 0.0
    cos = match_atoms(first, second)[2]
    assert cos.sum() == pytest.approx(1.4)


def test_r2_and_sparsity_by_hand():
    x = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]])
    recon = x.copy()
    recon[0, 0] = 1.0  # one residual of 1
    # sum of squares about the mean (1, 1): 4 cells x 2 dims x 1 = 8
    assert r2(x, recon) == pytest.approx(1 - 1 / 8)
    acts = np.array([[1.0, 0.0, 0.0], [0.0, -2.0, 0.0], [3.0, 1.0, 0.0]])
    out = sparsity(acts)
    assert out["l0"] == pytest.approx(4 / 3)
    assert out["dead_fraction"] == pytest.approx(1 / 3)
    assert sparsity(sp.csr_matrix(acts)) == out


def test_default_sweep_grid_is_a_cross_within_the_dictionary():
    assert default_grid(5, 4, 10) == [(2, 4), (5, 2), (5, 4), (5, 8), (10, 4)]
    # k larger than the smallest dictionary (1 x 3 dims) is left out
    assert (4, 1) not in default_grid(4, 2, 3)


def test_oriented_function_flips_and_clips_like_the_stored_activations():
    import torch

    from scconcepts.evaluation._grounding import oriented_function
    from scconcepts.evaluation._monosemanticity import orientation

    x = np.array([[0.0, 0.0], [0.1, -0.1], [-0.2, 0.1], [5.0, -5.0]])
    signs = orientation(x)
    assert list(signs) == [1.0, -1.0]
    out = oriented_function(lambda new: 2 * new, signs)(torch.tensor(x, dtype=torch.float32))
    assert out.numpy() == pytest.approx(np.clip(2 * x * signs, 0, None))
    assert out[2, 0] == 0 and out[3, 1] == pytest.approx(10.0)
