"""The programs regime: additive programs recovered as one concept each, exact basis, per-cell sparsity, checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from scconcepts.sae import SAEConfig, load_sae, reconstruction_metrics, save_sae
from scconcepts.sae._programs import fit_programs, programs_dictionary


def _typed_cells(n_per_type: int = 300, n_types: int = 5, dim: int = 8, seed: int = 0):
    """Cells of ``n_types`` types (a direction each) with a shared program added to a random half of every type."""
    rng = np.random.default_rng(seed)
    basis = np.linalg.qr(rng.normal(size=(dim, dim)))[0]
    types = np.repeat(np.arange(n_types), n_per_type)
    state = np.zeros(len(types), dtype=bool)
    for t in range(n_types):
        members = np.flatnonzero(types == t)
        state[rng.choice(members, len(members) // 2, replace=False)] = True
    x = 3.0 * basis[types] + 2.0 * state[:, None] * basis[n_types] + 0.35 * rng.normal(size=(len(types), dim))
    return x.astype(np.float32), types, state


def _best_auroc(activations: np.ndarray, truth: np.ndarray) -> float:
    return max(roc_auc_score(truth, column) for column in activations.T if np.ptp(column) > 0)


@pytest.fixture(scope="module")
def planted():
    x, types, state = _typed_cells()
    result = fit_programs(x, SAEConfig(seed=0), n_seeds=3)
    with torch.no_grad():
        codes = result.training.sae.encode(torch.as_tensor(x)).numpy()
    return x, types, state, result, codes


def _best_concept(activations: np.ndarray, truth: np.ndarray) -> int:
    return int(np.argmax([roc_auc_score(truth, c) if np.ptp(c) > 0 else 0.5 for c in activations.T]))


def test_a_program_shared_by_every_type_is_one_concept(planted):
    _, types, state, result, codes = planted
    assert _best_auroc(codes, state) >= 0.95
    # the types keep concepts of their own; centred, 5 types span 4 directions, so one may be only "none of these"
    marked = [_best_auroc(codes, types == t) >= 0.9 for t in np.unique(types)]
    assert sum(marked) >= len(marked) - 1
    # the state's concept recurs in bootstrap ICAs; three Gaussian noise axes cannot, so not every concept does
    assert result.table["reproducibility"].iloc[_best_concept(codes, state)] >= 0.6


def test_cells_use_as_many_concepts_as_they_need_and_the_held_out_fit_is_kept(planted):
    x, _, _, result, codes = planted
    active = (codes > 0).sum(1)
    assert active.min() < active.max()  # no forced k
    assert active.mean() < codes.shape[1] / 2
    metrics = reconstruction_metrics(result.training.sae, x, result.training.test_rows, both_inferences=False)
    assert metrics["r2"] >= 0.95


def test_every_concept_kept_reconstructs_exactly():
    x, _, _ = _typed_cells(n_per_type=100)
    result = fit_programs(x, SAEConfig(seed=1), n_seeds=1)
    sae = result.training.sae
    sae.jump.zero_()
    with torch.no_grad():
        rebuilt = sae(torch.as_tensor(x)).numpy()
    np.testing.assert_allclose(rebuilt, x, atol=1e-3 * np.abs(x).max())


def test_gaussian_cells_give_no_reproducible_program():
    x = np.random.default_rng(3).normal(size=(1500, 6)).astype(np.float32)
    result = fit_programs(x, SAEConfig(seed=0), n_seeds=5)
    assert result.summary["reproduced_share"] <= 0.5  # rotations of a Gaussian are not identifiable


def test_a_concept_fires_only_past_its_own_threshold():
    sae = programs_dictionary(np.eye(2) * 0.5, np.eye(2) * 2.0, np.zeros(2), np.zeros(2))
    with torch.no_grad():
        sae.jump.copy_(torch.tensor([0.5, 5.0, 0.5, 0.5]))
        codes = sae.encode(torch.tensor([[1.0, 3.0], [0.2, -1.0]])).numpy()
    np.testing.assert_allclose(codes[0], [1.0, 0.0, 0.0, 0.0])  # component 1's positive side is below its own jump
    np.testing.assert_allclose(codes[1], [0.0, 0.0, 0.0, 1.0])  # 0.2 is within component 0's threshold


def test_a_programs_checkpoint_encodes_the_same_after_loading(planted, tmp_path):
    x, *_ = planted
    sae = planted[3].training.sae
    save_sae(sae, tmp_path / "sae")
    loaded = load_sae(tmp_path / "sae")
    assert loaded.inference == "jump" and torch.equal(loaded.jump, sae.jump)
    with torch.no_grad():
        np.testing.assert_allclose(loaded.encode(torch.as_tensor(x)).numpy(), sae.encode(torch.as_tensor(x)).numpy())


def test_the_dictionary_reads_each_side_of_a_component_from_its_centre():
    unmixing, mixing = np.eye(2) * 0.5, np.eye(2) * 2.0
    sae = programs_dictionary(unmixing, mixing, np.zeros(2), np.array([0.5, -1.0]))
    with torch.no_grad():
        codes = sae.encode(torch.tensor([[1.0, -2.0], [0.0, 0.0]])).numpy()
    # the first cell sits at the ground state (the modes, mixed): it is on no side of either component
    np.testing.assert_allclose(codes[0], [0.0, 0.0, 0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(codes[1], [0.0, 2.0, 1.0, 0.0], atol=1e-6)
