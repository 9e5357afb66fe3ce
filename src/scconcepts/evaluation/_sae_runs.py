"""Train SAEs on the training cells only and measure them on held-out cells, as the baselines are."""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import scipy.sparse as sp

from scconcepts.sae import SAEConfig, TopKSAE, encode_csr, reconstruction_metrics, split_rows, train

logger = logging.getLogger(__name__)


def fit_sae(embedding: np.ndarray, train_rows: np.ndarray, config: SAEConfig) -> TopKSAE:
    """Train an SAE with ``config`` on the training rows only (it splits off its own early-stopping cells).

    No test cells are split off: the caller measures on its own held-out cells.
    """
    data = np.ascontiguousarray(embedding[train_rows], dtype=np.float32)
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
