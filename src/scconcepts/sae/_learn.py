"""Learn concepts from an embedding in the chosen regime, and the run's measures and settings as recorded.

``programs`` (:func:`scconcepts.sae.fit_programs`), a consensus of Top-K SAEs over seeds
(:func:`scconcepts.sae.consensus_train`) or one SAE (:func:`scconcepts.sae.train`); :func:`scconcepts.tl.train_sae`
checks the inputs and writes what these return into the AnnData.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from scconcepts.sae._composite import find_composites
from scconcepts.sae._config import SAEConfig
from scconcepts.sae._consensus import consensus_train
from scconcepts.sae._metrics import informativeness, reconstruction_metrics
from scconcepts.sae._model import TopKSAE
from scconcepts.sae._programs import fit_programs
from scconcepts.sae._train import TrainingResult, train

logger = logging.getLogger(__name__)


def learn_concepts(
    embedding: Any,
    config: SAEConfig,
    *,
    regime: str,
    n_seeds: int,
    min_share: float,
    unreproducible: str,
    n_jobs: int,
    atom_k: int | None,
    client: Any = None,
) -> tuple[TrainingResult, pd.DataFrame, dict[str, Any]]:
    """``(training, concept flags, consensus summary)`` of the regime (see :func:`scconcepts.tl.train_sae`)."""
    if regime == "programs":
        programs = fit_programs(embedding, config, n_seeds=n_seeds, min_share=min_share)
        return programs.training, programs.table, programs.summary
    if n_seeds > 1:
        consensus = consensus_train(
            embedding,
            config,
            n_seeds=n_seeds,
            min_share=min_share,
            unreproducible=unreproducible,
            n_jobs=n_jobs,
            atom_k=atom_k,
            client=client,
        )
        return consensus.training, consensus.table, consensus.summary
    result = train(embedding, config)
    return result, single_run_flags(result.sae), {"n_seeds": 1}


def single_run_flags(sae: TopKSAE) -> pd.DataFrame:
    """Concept flags of a single SAE: reproducibility unknown (NaN), composites found on its decoder."""
    decoder = sae.W_dec.detach().cpu().numpy()
    composites = find_composites(decoder)
    n_concepts = len(decoder)
    return pd.DataFrame(
        {
            "reproducibility": np.full(n_concepts, np.nan),
            "matched_cosine": np.full(n_concepts, np.nan),
            "composite": composites.composite,
            "composite_of": [f"{a}+{b}" if a >= 0 else "" for a, b in composites.parts],
        },
        index=pd.Index([str(i) for i in range(n_concepts)], name="concept"),
    )


def run_metrics(
    result: TrainingResult,
    embedding: Any,
    activations: sp.csr_matrix,
    labels: Any,
    *,
    seed: int,
    flags: pd.DataFrame,
    n_seeds: int,
) -> dict[str, Any]:
    """The run's metrics: on the test cells, dead fraction over every cell, informativeness with ``labels``."""
    metrics = reconstruction_metrics(result.sae, embedding, result.test_rows)
    metrics["n_cells_heldout"] = metrics.pop("n_cells")
    metrics["dead_fraction_all"] = float((np.diff(activations.tocsc().indptr) == 0).mean())
    if labels is not None:
        metrics["accuracy_concepts"], metrics["accuracy_concepts_std"] = informativeness(activations, labels, seed=seed)
        metrics["accuracy_embedding"], metrics["accuracy_embedding_std"] = informativeness(
            np.asarray(embedding), labels, seed=seed
        )
    if n_seeds > 1:
        metrics["reproduced_share"] = float(flags["reproducible"].mean()) if len(flags) else 0.0
    return metrics


def log_run(use_rep: str, metrics: dict[str, Any], n_concepts: int, n_seeds: int) -> None:
    """One line on the run: test fidelity, sparsity, dead concepts and how many concepts reproduced."""
    logger.info(
        "SAE on %s: test R^2 %.4f, L0 %.2f, dead %.1f%% (encoder %.1f%%, pursuit %.1f%%), %d concepts%s",
        use_rep,
        metrics["r2"],
        metrics["l0"],
        100 * metrics["dead_fraction"],
        100 * metrics["dead_fraction_encoder"],
        100 * metrics["dead_fraction_pursuit"],
        n_concepts,
        f", {metrics['reproduced_share']:.0%} reproducible over {n_seeds} seeds" if n_seeds > 1 else "",
    )


def run_params(result: TrainingResult, *, use_rep: str, labels_key: str | None, n_seeds: int, regime: str) -> dict:
    """The run's settings as recorded under ``uns[key]["params"]`` (``labels_key`` ``None`` when unused)."""
    return {
        "use_rep": use_rep,
        "model": use_rep.removeprefix("X_"),
        "embedding_dim": result.sae.d_in,
        "n_concepts": result.sae.n_latents,
        "labels_key": labels_key,
        "n_cells_train": len(result.train_rows),
        "n_cells_val": len(result.val_rows),
        "n_cells_test": len(result.test_rows),
        "best_epoch": result.best_epoch,
        **result.config.to_dict(),
        "n_seeds": n_seeds,
        "regime": regime,
    }
