"""Train SAEs on the training cells only and measure them on held-out cells, as the baselines are."""

from __future__ import annotations

import dataclasses
import logging
import math
from typing import Any

import numpy as np
import scipy.sparse as sp

from scconcepts._errors import InputError
from scconcepts.sae import SAEConfig, TopKSAE, encode_csr, reconstruction_metrics, split_rows, train
from scconcepts.sae._consensus import consensus_train
from scconcepts.sae._model import JUMP
from scconcepts.sae._programs import fit_programs

logger = logging.getLogger(__name__)

#: Settings of a run's consensus (``uns[key]["consensus"]``) that a refit repeats.
CONSENSUS_SETTINGS = ("n_seeds", "atom_k", "threshold", "min_share")
#: Fewest epochs an evaluation SAE trains for when the run's own stopping epoch is known.
MIN_EPOCHS = 20
#: Settings resolved from the data size, recomputed for the training cells of each evaluation run.
AUTOMATIC = ("aux_k", "batch_size", "epochs", "patience", "sparse_backward", "dead_after")


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


def run_config(params: dict[str, Any], overrides: dict[str, Any]) -> SAEConfig:
    """The run's SAE settings; the epochs budget is 1.5 x the epochs the run needed to reach its best."""
    values = {name: (None if isinstance(value, str) and value == "none" else value) for name, value in params.items()}
    values = {name: (value.item() if isinstance(value, np.generic) else value) for name, value in values.items()}
    if values.get("inference") == JUMP:  # a programs run: the SAEs evaluated beside it use their own inference
        values["inference"] = None
    config = SAEConfig.from_dict({**values, **dict.fromkeys(AUTOMATIC)})
    best_epoch = values.get("best_epoch")
    if best_epoch is not None and "epochs" not in overrides:
        config = with_settings(config, epochs=epoch_budget(best_epoch, values.get("epochs")))
    unknown = set(overrides) - set(SAEConfig.__dataclass_fields__)
    if unknown:
        raise InputError(f"unknown SAE settings {sorted(unknown)}; see scconcepts.sae.SAEConfig")
    return with_settings(config, **overrides)


def epoch_budget(best_epoch: Any, epochs: Any = None) -> int:
    """1.5 x the epochs a run needed to reach its best (at least ``MIN_EPOCHS``), at most its own ``epochs``."""
    budget = max(MIN_EPOCHS, math.ceil(1.5 * (int(best_epoch) + 1)))
    return budget if epochs is None else min(budget, int(epochs))


def seed_budget(summary: Any) -> int | None:
    """Epochs for a consensus's seed runs: the budget of the latest epoch a seed of the run kept.

    ``None`` (automatic) for runs that did not record them.
    """
    if "seed_epochs" not in summary or "seed_best_epoch" not in summary:
        return None
    return epoch_budget(summary["seed_best_epoch"], summary["seed_epochs"])


def run_settings(info: Any, overrides: dict[str, Any]) -> tuple[SAEConfig, SAEConfig, dict[str, Any] | None]:
    """``(config, fit_config, consensus)`` of the evaluation of the run recorded in ``info`` (``uns[key]``).

    ``fit_config`` is what each seed's SAE trains with: for a consensus, the budget of its seeds' runs (not the
    refit's) unless ``overrides`` sets the epochs.
    """
    config = run_config(dict(info["params"]), overrides)
    consensus = consensus_settings(info.get("consensus"))
    fit_config = config
    if consensus is not None and "epochs" not in overrides:
        fit_config = with_settings(config, epochs=seed_budget(info["consensus"]))
    return config, fit_config, consensus
