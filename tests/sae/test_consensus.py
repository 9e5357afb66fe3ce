"""Consensus over seeds: planted programs come back one concept each, composites never pass unflagged."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
from scipy.optimize import nnls

from scconcepts.sae import SAEConfig, consensus_train, encode_csr, find_composites

from ._planted import planted_embeddings, planted_programs

FAST = {"epochs": 40, "batch_size": 64}
# independent programs: the cells' common ground is "all off", their geometric median, not their mean
PROGRAMS = {**FAST, "bias_init": "median"}


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _truly_composite(atom: np.ndarray, directions: np.ndarray, cosine: float = 0.95) -> bool:
    """Whether ``atom`` is within ``cosine`` of a non-negative mix of two planted directions, both weighted."""
    unit = atom / np.linalg.norm(atom)
    for a in range(len(directions)):
        for b in range(a + 1, len(directions)):
            weights, _ = nnls(directions[[a, b]].T, unit)
            fit = weights @ directions[[a, b]]
            if weights.min() / max(weights.sum(), 1e-12) >= 0.25 and fit @ unit / np.linalg.norm(fit) > cosine:
                return True
    return False


@pytest.fixture(scope="module")
def programs():
    return planted_programs(n_cells=3000, dim=16, n_programs=6, rate=0.15)


@pytest.fixture(scope="module")
def consensus(programs):
    embeddings, _, _ = programs
    return consensus_train(embeddings, SAEConfig(k=3, expansion=4, seed=0, **PROGRAMS), n_seeds=5)


def _correlations(sae, embeddings, activity):
    z = encode_csr(sae, embeddings).toarray()
    n = activity.shape[1]
    return np.nan_to_num(np.corrcoef(np.c_[activity, z].T)[:n, n:])


@pytest.mark.slow
def test_consensus_recovers_every_planted_program_as_one_concept(programs, consensus):
    embeddings, activity, directions = programs
    corr = _correlations(consensus.training.sae, embeddings, activity)
    assert consensus.summary["seeds"] == [0, 1, 2, 3, 4]
    assert (corr.max(axis=1) > 0.9).all(), corr.max(axis=1)
    assert ((corr > 0.5).sum(axis=1) == 1).all()  # one concept per program, not split over several
    table = consensus.table
    assert len(table) == consensus.training.sae.n_latents
    assert (table["reproducibility"] >= 0.6).all() and (table["matched_cosine"] > 0.9).all()
    decoder = consensus.training.sae.W_dec.detach().numpy()
    for concept, atom in enumerate(decoder):
        if _truly_composite(atom, directions):
            assert table["composite"].iloc[concept], concept


@pytest.mark.slow
def test_flag_mode_keeps_the_first_run_and_flags_it(programs, monkeypatch):
    """The first run holds a mix of two of its atoms that no other run holds: kept whole, that atom is flagged.

    One SAE is trained; the three runs are copies of it, the first with one atom replaced by an even mix of two
    others, so that what flag mode must say holds whatever the training learnt.
    """
    from scconcepts.sae import _consensus

    embeddings, _, _ = programs
    trained = {}
    real_train_seed = _consensus.train_seed

    def seed_run(data, config, seed, split=None):
        if not trained:
            trained["run"] = real_train_seed(data, config, seed, split)
            trained["mix"] = _mix_of_two(trained["run"])
        run, (mixed, a, b) = trained["run"], trained["mix"]
        copy = dataclasses.replace(run, seed=seed, state={name: value.copy() for name, value in run.state.items()})
        if seed == config.seed:  # the first run
            copy.state["W_dec"][mixed] = _unit(run.decoder[[a]] + run.decoder[[b]])[0]
        return copy

    monkeypatch.setattr(_consensus, "train_seed", seed_run)
    config = SAEConfig(k=3, expansion=4, seed=0, atom_init="random", **FAST)
    flagged = consensus_train(embeddings, config, n_seeds=3, atom_k=None, unreproducible="flag")
    mixed = trained["mix"][0]
    first = flagged.runs[0].decoder
    np.testing.assert_allclose(flagged.training.sae.W_dec.detach().numpy(), first)  # the first run, whole
    table = flagged.table
    assert len(table) == len(first) and table["reproducibility"].between(0, 1).all()
    assert table["composite"].iloc[mixed] and table["composite_of"].iloc[mixed] != ""
    assert not table["reproducible"].iloc[mixed]  # no other run holds the mix
    alive = np.flatnonzero(flagged.runs[0].fire_rate >= _consensus.MIN_FIRE_RATE)
    others = np.setdiff1d(alive, [mixed])
    assert table["reproducible"].iloc[others].all()  # the other runs hold every other alive atom


def _mix_of_two(run) -> tuple[int, int, int]:
    """``(mixed, a, b)``: alive atoms; the even mix of ``a`` and ``b`` is within cosine 0.85 of no atom of the run."""
    from scconcepts.sae import _consensus

    alive = np.flatnonzero(run.fire_rate >= _consensus.MIN_FIRE_RATE)
    assert len(alive) >= 3, f"only {len(alive)} alive atoms"
    unit = _unit(run.decoder)
    for a, b in itertools.combinations(alive, 2):
        mix = _unit(unit[[a]] + unit[[b]])[0]
        if (unit @ mix).max() < 0.85:
            mixed = next(int(j) for j in alive if j not in (a, b))
            return mixed, int(a), int(b)
    raise AssertionError("no two alive atoms of the run make a mix unlike every atom")


@pytest.mark.slow
def test_a_planted_dictionary_reproduces_above_0_9():
    embeddings, atoms = planted_embeddings(n_cells=3000, dim=16, n_atoms=24, active=2, noise=0.02)
    result = consensus_train(embeddings, SAEConfig(k=2, expansion=2, seed=0, **FAST), n_seeds=3)
    decoder = _unit(result.training.sae.W_dec.detach().numpy())
    assert (result.table["matched_cosine"] > 0.9).mean() >= 0.9
    assert ((atoms @ decoder.T).max(axis=1) > 0.9).mean() >= 0.9  # and what reproduces is the planted atoms


def test_composites_are_mixes_of_two_atoms_not_duplicates_or_chance():
    rng = np.random.default_rng(0)
    atoms = _unit(rng.normal(size=(30, 16)))
    duplicate = _unit(atoms[3:4] + 0.05 * rng.normal(size=(1, 16)))
    mix = _unit(0.6 * atoms[0:1] + 0.4 * atoms[1:2])
    found = find_composites(np.vstack([atoms, duplicate, mix]))
    assert found.composite[-1] and set(found.parts[-1]) == {0, 1}
    assert not found.composite[:-1].any()  # random atoms in 16 dimensions and a near-duplicate are not mixes
