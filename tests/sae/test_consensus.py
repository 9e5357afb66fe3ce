"""Consensus over seeds: planted programs come back one concept each, composites never pass unflagged."""

from __future__ import annotations

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
def test_flag_mode_keeps_the_first_run_and_flags_it(programs, consensus):
    embeddings, _, directions = programs
    flagged = consensus_train(embeddings, SAEConfig(k=3, expansion=4, seed=0, **FAST), n_seeds=3, unreproducible="flag")
    first = flagged.runs[0].decoder
    np.testing.assert_allclose(flagged.training.sae.W_dec.detach().numpy(), first)
    table = flagged.table
    assert len(table) == len(first) and table["reproducibility"].between(0, 1).all()
    mixes = np.array([_truly_composite(atom, directions, cosine=0.95) for atom in first])
    assert mixes.any(), "the planted data should tempt a single SAE into composite atoms"
    assert table["composite"].any()  # and the single run's table says so
    assert not table["reproducible"].all()  # a single run holds atoms the other seeds do not


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
