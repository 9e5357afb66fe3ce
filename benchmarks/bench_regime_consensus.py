"""Consensus regimes on the sorted PBMC, measured out of sample: do the reported concepts reproduce and win?

For each setting (atom start, expansion, ``k``, ``atom_k``, ``min_share``) two consensus dictionaries are built
from disjoint seeds (seeds 0-4, each run sharing seed 0's split, and seeds 5-9 on seed 5's split; the default
also 10-14 against 15-19) and matched one to one; the figures are:

- matched |cosine| of the two dictionaries and the share of the first's concepts with a partner above 0.9,
  beside random unit atoms of the same counts and dimension (chance);
- for the first dictionary, on its test cells (neither training nor early stopping saw them): R^2, the share of
  concepts whose top cells are >= 80% one sorted type and the explanation AUROC (top specific genes chosen on
  the other cells, scored on the test cells), each beside the embedding's neurons (both signs) measured the same
  way; and the cross-validated balanced accuracy of cell types from the concepts beside the embedding's.

``python -m benchmarks regime_consensus`` prints the table (scVI latent of ``ds.pbmc_sorted()``, trained once and
cached like ``python -m benchmarks regime``; ``SCCONCEPTS_BENCH_EMBEDDED=h5ad`` reuses an ``obsm["X_scvi"]``).
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

import numpy as np

logger = logging.getLogger("benchmarks.regime_consensus")

#: Settings measured: name -> (SAEConfig fields, consensus options).
SETTINGS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "x4 k5, random start (former default)": ({"expansion": 4, "k": 5}, {}),
    "x4 k5, k-means start": ({"expansion": 4, "k": 5, "atom_init": "kmeans"}, {}),
    "x2 k5, k-means start": ({"expansion": 2, "k": 5, "atom_init": "kmeans"}, {}),
    "x2 k1, k-means start": ({"expansion": 2, "k": 1, "atom_init": "kmeans"}, {}),
    "x4 k1, k-means start": ({"expansion": 4, "k": 1, "atom_init": "kmeans"}, {}),
    "x2 atoms k1, k5, random start": ({"expansion": 2, "k": 5}, {"atom_k": 1}),
    "x2 atoms k1, k3, k-means start": ({"expansion": 2, "k": 3, "atom_init": "kmeans"}, {"atom_k": 1}),
    "x2 atoms k1, k5, k-means start (default)": ({"expansion": 2, "k": 5, "atom_init": "kmeans"}, {"atom_k": 1}),
    "the default, seeds 10-14 vs 15-19": (
        {"expansion": 2, "k": 5, "atom_init": "kmeans"},
        {"atom_k": 1, "first_seeds": (10, 15)},
    ),
    "x3 atoms k1, k5, k-means start": ({"expansion": 3, "k": 5, "atom_init": "kmeans"}, {"atom_k": 1}),
    "x4 atoms k1, k5, k-means start": ({"expansion": 4, "k": 5, "atom_init": "kmeans"}, {"atom_k": 1}),
}
FIRST_SEEDS = (0, 5)
N_SEEDS = 5
THRESHOLD = 0.9


def _embedding(adata) -> np.ndarray:
    path = os.environ.get("SCCONCEPTS_BENCH_EMBEDDED")
    if path:
        import anndata as ad

        return np.asarray(ad.read_h5ad(path).obsm["X_scvi"], dtype=np.float32)
    from benchmarks.bench_regime import load_representation

    return load_representation(adata, "scvi_latent10")


def _chance(n_first: int, n_second: int, dim: int, repeats: int = 5) -> tuple[float, float]:
    """Matched cosine and share of the first dictionary reproduced for random unit atoms of the same counts."""
    from scconcepts.evaluation._stability import match_atoms
    from scconcepts.stats import random_unit_atoms

    rng = np.random.default_rng(0)
    pairs = []
    for _ in range(repeats):
        cosines = match_atoms(random_unit_atoms(n_first, dim, seed=rng), random_unit_atoms(n_second, dim, seed=rng))[2]
        pairs.append((cosines.mean(), (cosines > THRESHOLD).sum() / n_first))
    return float(np.mean([p[0] for p in pairs])), float(np.mean([p[1] for p in pairs]))


def measure_setting(embedding, expression, labels, config: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """Out-of-sample reproducibility and interpretability of one consensus setting (see the module docstring)."""
    from benchmarks.bench_regime import _measure
    from scconcepts.evaluation._stability import match_atoms
    from scconcepts.sae import SAEConfig, consensus_train, encode_csr, informativeness, reconstruction_metrics

    start = time.perf_counter()
    options = dict(options)
    first_seeds = options.pop("first_seeds", FIRST_SEEDS)
    results = [
        consensus_train(embedding, SAEConfig(**{**config, "seed": first}), n_seeds=N_SEEDS, **options)
        for first in first_seeds
    ]
    first, second = (result.training.sae.W_dec.detach().numpy() for result in results)
    cosines = match_atoms(first, second)[2]
    chance = _chance(len(first), len(second), embedding.shape[1])
    training = results[0].training
    activations = encode_csr(training.sae, embedding)
    rows = (np.sort(np.concatenate([training.train_rows, training.val_rows])), training.test_rows)
    measured = _measure(activations, expression, labels, rows, signed=False, seed=0)
    return {
        "mode": "/".join(result.summary["mode"] for result in results),
        "concepts": f"{len(first)}/{len(second)}",
        "matched_cosine": float(cosines.mean()),
        "matched_cosine_chance": chance[0],
        "reproduced": float((cosines > THRESHOLD).sum() / len(first)),
        "reproduced_chance": chance[1],
        "r2": reconstruction_metrics(training.sae, embedding, training.test_rows)["r2"],
        "pure_share": measured["pure_share"],
        "explanation_auroc": measured["explanation_auroc"],
        "explanation_auroc_chance": measured["explanation_auroc_chance"],
        "accuracy": informativeness(activations, labels)[0],
        "seconds": time.perf_counter() - start,
    }


def regime_consensus_table():
    """The neurons' row and one row per :data:`SETTINGS` entry."""
    import pandas as pd

    from benchmarks.bench_regime import _measure
    from scconcepts import ds
    from scconcepts.evaluation._explanation import log_normalise
    from scconcepts.sae import informativeness, split_rows

    adata = ds.pbmc_sorted()
    labels = adata.obs["cell_type"].astype(str).to_numpy()
    expression = log_normalise(adata.X)
    embedding = _embedding(adata)
    split = split_rows(len(embedding), 0.1, 0.15, FIRST_SEEDS[0])  # the first consensus's split
    rows = (np.sort(np.concatenate([split.train, split.val])), split.test)
    neurons = _measure(embedding, expression, labels, rows, signed=True, seed=0)
    records = [
        {
            "setting": "neurons (both signs)",
            "pure_share": neurons["pure_share"],
            "explanation_auroc": neurons["explanation_auroc"],
            "explanation_auroc_chance": neurons["explanation_auroc_chance"],
            "accuracy": informativeness(embedding, labels)[0],
        }
    ]
    for name, (config, options) in SETTINGS.items():
        records.append({"setting": name, **measure_setting(embedding, expression, labels, config, options)})
        logger.info("%s: %s", name, {k: (round(v, 3) if isinstance(v, float) else v) for k, v in records[-1].items()})
    return pd.DataFrame.from_records(records)


def main() -> None:
    """Print the table, each figure beside its chance level or the neurons' value."""
    import pandas as pd

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    start = time.perf_counter()
    table = regime_consensus_table()
    logger.info(
        "regime (consensus, out of sample): %.0f s, load average %.1f on %d cores",
        time.perf_counter() - start,
        os.getloadavg()[0],
        os.cpu_count() or 0,
    )
    with pd.option_context("display.width", 250, "display.max_columns", 30, "display.float_format", "{:.3f}".format):
        print(table.to_string(index=False))
