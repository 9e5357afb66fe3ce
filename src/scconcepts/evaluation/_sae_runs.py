"""Train SAEs on the training cells only and measure them on held-out cells, as the baselines are."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import numpy as np
import scipy.sparse as sp

from scconcepts.sae import SAEConfig, TopKSAE, encode_csr, reconstruction_metrics, split_rows, train
from scconcepts.sae._consensus import consensus_train
from scconcepts.sae._programs import fit_programs

logger = logging.getLogger(__name__)

#: Settings of a run's consensus (``uns[key]["consensus"]``) that a refit repeats.
CONSENSUS_SETTINGS = ("n_seeds", "atom_k", "threshold", "min_share")


def consensus_settings(summary: Any) -> dict[str, Any] | None:
    """The consensus settings of a run from its ``uns[key]["consensus"]`` summary (``None``: a single SAE).

    A programs run (``regime: programs``) gives ``{"regime": "programs"}``: each evaluation seed refits it.
    """
    if summary is not None and str(summary.get("regime", "")) == "programs":
        return {"regime": "programs", "n_seeds": int(summary.get("n_seeds", 1))}
    if summary is None or int(summary.get("n_seeds", 1)) < 2:
        return None
    kinds = {"n_seeds": int, "atom_k": int, "threshold": float, "min_share": float}
    return {name: kinds[name](summary[name]) for name in CONSENSUS_SETTINGS if name in summary}


def fit_sae(
    embedding: np.ndarray, train_rows: np.ndarray, config: SAEConfig, consensus: dict[str, Any] | None = None
) -> TopKSAE:
    """Train an SAE with ``config`` on the training rows only (it splits off its own early-stopping cells).

    With a programs ``consensus`` the dictionary is the medoid of ``n_seeds`` ICA starts, seeds
    ``config.seed * n_seeds`` onwards, so that two evaluation seeds share no start. With another ``consensus``
    the SAE is a consensus of ``n_seeds`` runs, as
    ``scconcepts run`` makes by default; seed ``s`` then trains seeds ``s * n_seeds`` to ``s * n_seeds +
    n_seeds - 1``, so the consensus SAEs of two distinct seeds share no run.
    No test cells are split off: the caller measures on its own held-out cells.
    """
    data = np.ascontiguousarray(embedding[train_rows], dtype=np.float32)
    if consensus and consensus.get("regime") == "programs":  # the medoid of the seed's own ICA starts
        n_seeds = consensus["n_seeds"]
        config = with_settings(config, seed=config.seed * n_seeds, test_fraction=0.0)
        return fit_programs(data, config, n_seeds=n_seeds).training.sae
    if consensus:
        first = config.seed * consensus["n_seeds"]
        config = with_settings(config, seed=first, test_fraction=0.0)
        return consensus_train(data, config, **consensus, unreproducible="drop").training.sae
    return train(data, config, split=split_rows(len(data), config.val_fraction, 0.0, config.seed)).sae


def sae_fidelity(sae: TopKSAE, embedding: np.ndarray, val_rows: np.ndarray) -> tuple[dict[str, float], sp.csr_matrix]:
    """Held-out R^2, L0 and dead fraction (:func:`scconcepts.sae.reconstruction_metrics`) and all cells' activations."""
    data = np.asarray(embedding, dtype=np.float32)
    metrics = reconstruction_metrics(sae, data, val_rows)
    activations = encode_csr(sae, data)
    return {name: float(metrics[name]) for name in ("r2", "l0", "dead_fraction")}, activations


def with_settings(config: SAEConfig, **values: object) -> SAEConfig:
    """Copy of ``config`` with some fields replaced (automatic settings that depend on them reset)."""
    return dataclasses.replace(config, **values)
