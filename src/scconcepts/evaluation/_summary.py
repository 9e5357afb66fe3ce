"""The evaluation's tables: per-seed rows of every unit's measures, their mean and spread, and the stability."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from scconcepts.evaluation._baselines import SEEDED
from scconcepts.evaluation._grounding import share_of
from scconcepts.evaluation._grounding_null import GROUNDING, grounding_chance, pooled_pvalue
from scconcepts.evaluation._stability import stability, stability_chance
from scconcepts.evaluation._units import RANDOM_DIRECTIONS, Measured, Unit

METRICS = (
    "r2",
    "l0",
    "dead_fraction",
    "accuracy",
    "purity",
    "ami",
    "pure_share",
    "explanation_auroc",
    "explanation_spearman",
    "grounding",
    "grounding_specific",
    "grounding_distinct",
)
#: Metrics printed beside a chance level (column ``<metric>_chance``): all but fidelity, sparsity and accuracy.
WITH_CHANCE = METRICS[4:]


@dataclass
class Collected:
    """Every unit's measures gathered: the long table, the decoders per seeded method and the grounding."""

    per_seed: pd.DataFrame
    decoders: dict[str, list[np.ndarray]]
    n_components: dict[str, int]
    first_decoder: dict[str, np.ndarray | None] = field(default_factory=dict)
    grounded: dict[str, dict[str, float]] = field(default_factory=dict)  # the first seed's shares, the null first
    n_grounded: dict[str, int] = field(default_factory=dict)
    draws: list[dict[str, float]] = field(default_factory=list)


def collect(
    units: list[Unit], measured: list[Measured], methods: Sequence[str], *, n_concepts: int, grounds: bool
) -> Collected:
    """One row per (method, seed) of the table; a deterministic method grounded once gets its shares every seed."""
    rows: list[dict[str, Any]] = []
    out = Collected(pd.DataFrame(), {"sae": [], **{m: [] for m in methods if m in SEEDED}}, {"sae": n_concepts})
    out.draws = [
        unit.shares for (method, _, _), unit in zip(units, measured, strict=True) if method == RANDOM_DIRECTIONS
    ]
    for (method, seed, _), unit in zip(units, measured, strict=True):
        if method == RANDOM_DIRECTIONS:
            continue
        if unit.shares is not None:
            out.grounded.setdefault(method, unit.shares)
            out.n_grounded.setdefault(method, unit.n_grounded)
        metrics = dict(unit.metrics)
        if grounds:  # a deterministic method was grounded once: the same components every seed
            shares = out.grounded[method] if unit.shares is None else unit.shares
            metrics.update({measure: share_of(shares, measure) for measure in GROUNDING})
        out.n_components[method] = unit.n_components
        out.first_decoder.setdefault(method, unit.decoder)
        rows.append({"method": method, "seed": seed, **metrics})
        if method in out.decoders:
            out.decoders[method].append(unit.decoder)
    out.per_seed = pd.DataFrame(rows)
    if out.draws:  # the null's mean shares first, as the table's readers expect
        draws = out.draws
        out.grounded = {RANDOM_DIRECTIONS: {name: float(np.mean([d[name] for d in draws])) for name in draws[0]},
                        **out.grounded}  # fmt: skip
    return out


def summarise(per_seed: pd.DataFrame, n_components: dict[str, int]) -> pd.DataFrame:
    """Per method, the mean and standard deviation over seeds of every measure."""
    grouped = per_seed.drop(columns="seed").groupby("method", sort=False)
    mean, std = grouped.mean(), grouped.std(ddof=0)
    table = pd.DataFrame(index=mean.index)
    for name in mean.columns:
        table[name], table[f"{name}_std"] = mean[name], std[name]
    table.insert(0, "n_components", [n_components[m] for m in table.index])
    table.insert(1, "n_seeds", grouped.size())
    table.index.name = "method"
    return table


def summary_table(fits: Collected, n_concepts: int) -> pd.DataFrame:
    """The methods x metrics table, with the grounding's chance level, excess and pooled p-values.

    Adds the per-seed chance columns to ``fits.per_seed`` as well.
    """
    per_seed, draws, n_grounded = fits.per_seed, fits.draws, fits.n_grounded
    grounding_chance(per_seed, draws, n_grounded, n_concepts)
    pvalues = [f"{metric}_pvalue" for metric in GROUNDING]
    table = summarise(per_seed.drop(columns=pvalues, errors="ignore"), fits.n_components)
    if n_grounded:
        table.insert(2, "n_grounded", [n_grounded.get(m, np.nan) for m in table.index])
    for metric in GROUNDING:
        if f"{metric}_chance" in per_seed:
            table[f"{metric}_pvalue"] = pooled_pvalue(per_seed, metric, draws, n_grounded, n_concepts)
    return table


def _chance_of(measures: dict[str, float]) -> dict[str, float]:
    """Stability of random atoms under ``<measure>_chance`` names."""
    return {f"{name}_chance": value for name, value in measures.items() if name != "n_pairs"}


def stability_table(decoders: dict[str, list[np.ndarray]], n_dims: int) -> dict[str, dict[str, float]]:
    """Per seeded method, its decoders matched across seeds beside random unit atoms of the same count."""
    return {
        method: {**stability(matrices), **_chance_of(stability_chance(len(matrices[0]), n_dims))}
        for method, matrices in decoders.items()
        if matrices
    }
