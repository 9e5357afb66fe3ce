"""Stability across datasets: every decoder-bearing method fitted again on a second dataset's cells, and matched."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from anndata import AnnData

from scconcepts._errors import InputError
from scconcepts.distributed._chunks import map_chunks
from scconcepts.evaluation._baselines import SEEDED, fit_baseline
from scconcepts.evaluation._sae_runs import fit_sae, with_settings
from scconcepts.evaluation._stability import cross_dataset_stability
from scconcepts.sae import SAEConfig


def other_embedding(other: AnnData, use_rep: str, encoder: Any, dim: int) -> np.ndarray:
    """The second dataset's embedding by the same model: its ``obsm[use_rep]``, else the encoder's."""
    if use_rep in other.obsm:
        embedding = np.asarray(other.obsm[use_rep], dtype=np.float64)
    elif encoder is not None:
        embedding = np.asarray(encoder.embed(other), dtype=np.float64)
    else:
        raise InputError(f"the second dataset has no obsm[{use_rep!r}]; pass encoder= (the run's model) to embed it")
    if embedding.ndim != 2 or embedding.shape[1] != dim:
        raise InputError(
            f"the second dataset's embedding has shape {embedding.shape}, the run's has {dim} dimensions; "
            "embed both datasets with the same model"
        )
    if not np.isfinite(embedding).all():
        raise InputError("the second dataset's embedding holds NaN or infinite values")
    return embedding


def _second_decoder(unit: tuple[str, int], shared: dict[str, Any]) -> np.ndarray:
    """One method's decoder fitted with one seed on every cell of the second dataset (the work of one task)."""
    method, seed = unit
    embedding, config = shared["embedding"], shared["config"]
    rows = np.arange(embedding.shape[0])
    if method == "sae":
        return (
            fit_sae(embedding, rows, with_settings(config, seed=seed), shared["consensus"]).W_dec.detach().cpu().numpy()
        )
    return fit_baseline(method, embedding, rows, n_concepts=shared["n_concepts"], k=int(config.k), seed=seed).decoder


def cross_dataset(
    embedding: np.ndarray,
    config: SAEConfig,
    seeds: Sequence[int],
    first: dict[str, list[np.ndarray]],
    *,
    n_concepts: int,
    consensus: dict[str, Any] | None = None,
    client: Any = None,
) -> dict[str, dict[str, float]]:
    """Fit every decoder-bearing method of ``first`` on the second dataset's cells and match every pair of runs.

    The second dataset's runs take seeds none of ``seeds`` uses, so that no matched pair shares an
    initialisation; a method without a seed is fitted once. With ``client`` each fit is a task on its workers.
    """
    own_seeds = [max(seeds) + 1 + i for i in range(len(seeds))]
    units = [
        (method, int(seed))
        for seed in own_seeds
        for method in first
        if method == "sae" or method in SEEDED or seed == own_seeds[0]
    ]
    shared = {"embedding": embedding, "config": config, "n_concepts": n_concepts, "consensus": consensus}
    fits = map_chunks(_second_decoder, units, shared, client=client, desc="second dataset fits")
    second: dict[str, list[np.ndarray]] = {method: [] for method in first}
    for (method, _), decoder in zip(units, fits, strict=True):
        second[method].append(decoder)
    return {method: cross_dataset_stability(first[method], second[method]) for method in first}
