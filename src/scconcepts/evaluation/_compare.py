"""One evaluation: every method fitted per seed on the training cells, measured, grounded and summarised.

:func:`compare` runs the units of :mod:`scconcepts.evaluation._units` (on Dask workers with a client), gathers
them into the tables of :mod:`scconcepts.evaluation._summary`, fits the second dataset and runs the sweep.
:func:`scconcepts.tl.evaluate` checks the inputs, builds the :class:`EvaluationPlan` and stores the result.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from scconcepts.distributed._chunks import map_chunks
from scconcepts.evaluation._cross_dataset import cross_dataset
from scconcepts.evaluation._grounding_null import GROUNDING_DRAWS
from scconcepts.evaluation._selectivity import selectivity_line, summarise_selectivity
from scconcepts.evaluation._summary import Collected, collect, stability_table, summary_table
from scconcepts.evaluation._sweep import sweep_around
from scconcepts.evaluation._units import evaluation_units, measure, scratch
from scconcepts.sae import SAEConfig

logger = logging.getLogger(__name__)

SWEEP_COLUMNS = ["k", "expansion", "n_concepts", "r2", "l0", "dead_fraction"]


@dataclass
class Grounding:
    """What grounding the components needs: the cells, the model, the runner (``tl``'s) and its settings."""

    adata: Any
    encoder: Any
    run: Callable[..., dict[str, float]]
    alpha: float = 0.05
    sources: Any = "auto"
    draws: int = GROUNDING_DRAWS


@dataclass
class EvaluationPlan:
    """The inputs of one evaluation, checked by :func:`scconcepts.tl.evaluate`."""

    key: str
    use_rep: str
    embedding: np.ndarray
    rows: tuple[np.ndarray, np.ndarray]  # training and held-out cells
    config: SAEConfig
    fit_config: SAEConfig  # the settings each seed's SAE trains with (a consensus's seed budget)
    consensus: dict[str, Any] | None
    seeds: Sequence[int]
    methods: Sequence[str]
    labels_key: str | None = None
    labels: np.ndarray | None = None
    n_top: int | None = None
    n_permutations: int = 10
    expression: Any = None
    explanation_genes: int = 10
    grounding: Grounding | None = None
    other: np.ndarray | None = None  # the second dataset's embedding
    other_name: str = "other"
    sweep: bool = True
    sweep_k: Sequence[int] | None = None
    sweep_expansion: Sequence[int] | None = None
    run_activations: Any = None  # the run's own concepts' activations, for their selectivity
    extra: dict[str, Any] = field(default_factory=dict)  # entries of the run's own concepts, before selectivity
    start: float = field(default_factory=time.perf_counter)

    @property
    def n_concepts(self) -> int:
        return int(self.config.expansion) * self.embedding.shape[1]


def _shared(plan: EvaluationPlan) -> dict[str, Any]:
    """What every unit reads (sent to each worker once)."""
    grounding = plan.grounding
    return {
        "embedding": plan.embedding, "train_rows": plan.rows[0], "val_rows": plan.rows[1], "config": plan.config,
        "n_concepts": plan.n_concepts, "k": int(plan.config.k), "labels": plan.labels, "n_top": plan.n_top,
        "n_permutations": plan.n_permutations, "expression": plan.expression,
        "explanation_genes": plan.explanation_genes, "fit_config": plan.fit_config,
        "adata": scratch(grounding.adata) if grounding else None, "encoder": grounding.encoder if grounding else None,
        "grounding_alpha": grounding.alpha if grounding else 0.05,
        "grounding_sources": grounding.sources if grounding else "auto", "consensus": plan.consensus,
        "ground": grounding.run if grounding else None,
    }  # fmt: skip


def _cross(plan: EvaluationPlan, fits: Collected, client: Any) -> dict[str, Any]:
    """Stability across datasets: PCA matched by its first seed's decoder, the seeded methods by every seed's."""
    if plan.other is None:
        return {}
    first_decoders = dict(fits.decoders)
    if "pca" in fits.first_decoder:
        first_decoders["pca"] = [fits.first_decoder["pca"]]
    methods = cross_dataset(
        plan.other, plan.fit_config, plan.seeds, first_decoders, n_concepts=plan.n_concepts,
        consensus=plan.consensus, client=client,
    )  # fmt: skip
    return {"name": plan.other_name, "n_cells": int(plan.other.shape[0]), "methods": methods}


def _params(plan: EvaluationPlan, draws: list[dict[str, float]]) -> dict[str, Any]:
    consensus, n_concepts = plan.consensus, plan.n_concepts
    return {
        "key": plan.key,
        "use_rep": plan.use_rep,
        "labels_key": plan.labels_key or "none",
        "seeds": [int(s) for s in plan.seeds],
        "k": int(plan.config.k),
        "expansion": int(plan.config.expansion),
        "n_concepts": n_concepts,
        "sae_fit": (
            f"consensus of {consensus['n_seeds']} seeds per evaluation seed s (seeds s*{consensus['n_seeds']} "
            "onwards), as the run made its concepts"
            if consensus
            else "one SAE per seed"
        ),
        "n_cells_train": len(plan.rows[0]),
        "n_cells_heldout": len(plan.rows[1]),
        "n_permutations": int(plan.n_permutations),
        "explanation": "top specific genes on the training cells" if plan.expression is not None else "none",
        "explanation_genes": int(plan.explanation_genes),
        "grounding_null": (
            f"{len(draws)} draws of {n_concepts} random unit directions of the embedding" if draws else "none"
        ),
        "seconds": time.perf_counter() - plan.start,
    }


def compare(plan: EvaluationPlan, *, client: Any = None) -> dict[str, Any]:
    """Fit, measure and summarise every method of ``plan``; the result :func:`scconcepts.tl.evaluate` returns."""
    units = evaluation_units(plan.seeds, plan.methods, draws=plan.grounding.draws if plan.grounding else 0)
    measured = map_chunks(measure, units, _shared(plan), client=client, desc="evaluation fits")
    fits = collect(units, measured, plan.methods, n_concepts=plan.n_concepts, grounds=plan.grounding is not None)
    table = summary_table(fits, plan.n_concepts)
    stable = stability_table(fits.decoders, plan.embedding.shape[1])
    cross = _cross(plan, fits, client)
    sweep_table = pd.DataFrame(columns=SWEEP_COLUMNS)
    if plan.sweep:
        per_seed = fits.per_seed
        first = per_seed[(per_seed["method"] == "sae") & (per_seed["seed"] == plan.seeds[0])].iloc[0]
        sweep_table = sweep_around(
            plan.embedding, plan.rows, plan.config, seed=int(plan.seeds[0]), first=first, grid_k=plan.sweep_k,
            grid_expansion=plan.sweep_expansion, consensus=plan.consensus,
        )  # fmt: skip
    result = {
        "table": table, "per_seed": fits.per_seed, "stability": stable, "sweep": sweep_table,
        "grounding": fits.grounded, "grounding_null": {"draws": fits.draws, "n_components": plan.n_concepts},
        "cross_dataset": cross, "params": _params(plan, fits.draws), **plan.extra,
    }  # fmt: skip
    if plan.labels is not None:  # the best component's AUROC per label, from the fits above (and the run's concepts)
        runs = [(method, seed, unit.selectivity) for (method, seed, _), unit in zip(units, measured, strict=True)]
        result["selectivity"] = summarise_selectivity(
            runs, plan.labels, run_activations=plan.run_activations, n_permutations=plan.n_permutations,
            seed=int(plan.seeds[0]),
        )  # fmt: skip
        logger.info("%s", selectivity_line(result["selectivity"]))
    return result
