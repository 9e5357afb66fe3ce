"""The evaluation's work units: one method fitted with one seed on the training cells, and its measures.

A unit is ``(method, seed of the measures, seed of the fit)``; :func:`measure` is the work of one task (one
process, or one Dask worker), and sends back a small :class:`Measured` whatever the number of cells.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from anndata import AnnData

from scconcepts.evaluation._baselines import SEEDED, fit_baseline
from scconcepts.evaluation._explanation import both_signs, explanation_scores, specific_genes, summarise_explanation
from scconcepts.evaluation._fidelity import r2, sparsity
from scconcepts.evaluation._grounding import both_sides, oriented_function
from scconcepts.evaluation._monosemanticity import monosemanticity, orientation
from scconcepts.evaluation._sae_runs import fit_sae, sae_fidelity, with_settings
from scconcepts.evaluation._selectivity import component_selectivity
from scconcepts.sae import informativeness
from scconcepts.stats import random_unit_atoms

#: Name of the random-directions null in the grounding.
RANDOM_DIRECTIONS = "random_directions"

#: One work unit of the evaluation: (method, seed of the measures, seed of the fit).
Unit = tuple[str, int, int]


@dataclass
class Measured:
    """What one evaluation unit sends back: small, whatever the number of cells."""

    metrics: dict[str, Any]
    n_components: int
    decoder: np.ndarray | None
    shares: dict[str, float] | None  # grounding shares per gene-set source, when this unit grounded its fit
    n_grounded: int | None  # components grounded (both sides of a signed baseline's axes)
    selectivity: dict[str, dict[str, float]] | None = None  # per label, the best component's AUROC (with labels)


def evaluation_units(seeds: Sequence[int], methods: Sequence[str], *, draws: int) -> list[Unit]:
    """The evaluation's units in the order of its table: per seed the SAE, then each baseline.

    A method without a seed is fitted with the first seed every time (the same components), and its later
    seeds only change the measures' own randomness (classifier folds, permutations). The ``draws`` of the
    random-directions grounding null come first (seeds ``seeds[0]`` onwards).
    """
    units: list[Unit] = [(RANDOM_DIRECTIONS, int(seeds[0]) + i, int(seeds[0]) + i) for i in range(draws)]
    for seed in seeds:
        units.append(("sae", int(seed), int(seed)))
        units += [(m, int(seed), int(seed) if m in SEEDED else int(seeds[0])) for m in methods]
    return units


def scratch(adata: AnnData) -> AnnData:
    """An AnnData sharing ``adata``'s matrices whose mappings take temporary keys without touching ``adata``."""
    return AnnData(
        X=adata.X, obs=adata.obs, var=adata.var, obsm=dict(adata.obsm), layers=dict(adata.layers), uns=dict(adata.uns)
    )


def _quality(
    activations: Any, labels: np.ndarray | None, *, signed: bool, seed: int, n_top: int | None, n_permutations: int
) -> dict:
    if labels is None:
        return {}
    accuracy = informativeness(activations, labels, seed=seed)[0]
    mono = monosemanticity(activations, labels, signed=signed, n_top=n_top, n_permutations=n_permutations, seed=seed)
    names = [name for base in ("purity", "ami", "pure_share") for name in (base, f"{base}_chance")]
    return {"accuracy": accuracy, **{name: mono[name] for name in names if name in mono}}


def _explain(
    expression: Any, activations: Any, *, signed: bool, rows: tuple[np.ndarray, np.ndarray], n_genes: int, seed: int
) -> dict[str, float]:
    """Explanation score of every component (both signs of signed ones) by its top specific training-cell genes."""
    if expression is None:
        return {}
    x = activations.toarray() if sp.issparse(activations) else np.asarray(activations, dtype=np.float64)
    if signed:
        x = both_signs(x)
    train_rows, val_rows = rows
    gene_sets = specific_genes(expression, x, train_rows, n_genes=n_genes)
    summary = summarise_explanation(explanation_scores(expression, x, gene_sets, val_rows, seed=seed))
    return {
        "explanation_auroc": summary["explanation_auroc"],
        "explanation_spearman": summary["explanation_spearman"],
        "explanation_auroc_chance": summary["explanation_auroc_chance"],
        "explanation_spearman_chance": summary["explanation_spearman_chance"],
    }


def _ground(method: str, fit: Any, shared: dict[str, Any]) -> tuple[dict[str, float], int]:
    """Shares of one fit's grounded components per source, and how many components were grounded.

    SAE concepts are grounded as they are; random directions oriented towards their heavy tail and clipped at
    zero; signed baselines (neurons, PCA, ICA, dictionary learning) on both sides, each side a component, so
    that a basis of ``d`` axes offers ``2 d`` components as a programs dictionary of ``d`` components does.
    The attribution and enrichment run in ``shared["ground"]`` (:func:`scconcepts.tl._grounding.grounding`).
    """
    if method == "sae":
        sae, activations = fit
        components = sae.encode
    elif method == RANDOM_DIRECTIONS:  # projections on random unit atoms, oriented and clipped like baselines
        embedding, centre, atoms = fit
        projections = (embedding - centre) @ atoms.T
        signs = orientation(projections)
        components = oriented_function(lambda new: (new - centre) @ atoms.T, signs)
        activations = np.clip(projections * signs, 0, None)
    elif fit.signed:  # both sides of every axis, each clipped at zero
        components = oriented_function(both_sides(fit.transform), np.ones(2 * fit.activations.shape[1]))
        activations = np.clip(np.concatenate([fit.activations, -fit.activations], axis=1), 0, None)
    else:
        components = oriented_function(fit.transform, np.ones(fit.activations.shape[1]))
        activations = np.clip(fit.activations, 0, None)
    shares = shared["ground"](
        scratch(shared["adata"]), encoder=shared["encoder"], name=method, components=components,
        activations=activations, alpha=shared["grounding_alpha"], sources=shared["grounding_sources"],
    )  # fmt: skip
    return shares, int(activations.shape[1])


def _fit(method: str, seed: int, fit_seed: int, shared: dict[str, Any]) -> tuple[dict, Any, bool, Any, Any]:
    """Fit one method on the training cells: ``(fidelity metrics, activations, signed, fit, decoder)``."""
    embedding, train_rows, val_rows = shared["embedding"], shared["train_rows"], shared["val_rows"]
    if method == "sae":
        sae = fit_sae(embedding, train_rows, with_settings(shared["fit_config"], seed=seed), shared["consensus"])
        metrics, activations = sae_fidelity(sae, embedding, val_rows)
        return metrics, activations, False, (sae, activations), sae.W_dec.detach().cpu().numpy()
    rep = fit_baseline(method, embedding, train_rows, n_concepts=shared["n_concepts"], k=shared["k"], seed=fit_seed)
    metrics = {"r2": r2(embedding[val_rows], rep.reconstruction[val_rows])}
    metrics.update(sparsity(rep.activations[val_rows]))
    return metrics, rep.activations, rep.signed, rep, rep.decoder


def measure(unit: Unit, shared: dict[str, Any]) -> Measured:
    """Fit one method with one seed on the training cells and measure it (the work of one task)."""
    method, seed, fit_seed = unit
    embedding, train_rows, val_rows = shared["embedding"], shared["train_rows"], shared["val_rows"]
    n_concepts = shared["n_concepts"]
    grounds = shared["encoder"] is not None and seed == fit_seed  # deterministic methods: first seed only

    def ground(fit: Any) -> tuple[dict[str, float], int] | tuple[None, None]:
        return _ground(method, fit, shared) if grounds else (None, None)

    if method == RANDOM_DIRECTIONS:  # the null: as many random directions as concepts, same pipeline
        atoms = random_unit_atoms(n_concepts, embedding.shape[1], seed=seed)
        centre = embedding[train_rows].mean(axis=0)
        return Measured({}, n_concepts, None, *ground((embedding, centre, atoms)))
    metrics, activations, signed, fit, decoder = _fit(method, seed, fit_seed, shared)
    metrics.update(
        _quality(
            activations, shared["labels"], signed=signed, seed=seed, n_top=shared["n_top"],
            n_permutations=shared["n_permutations"],
        )
    )  # fmt: skip
    metrics.update(
        _explain(
            shared["expression"], activations, signed=signed, rows=(train_rows, val_rows),
            n_genes=shared["explanation_genes"], seed=seed,
        )
    )  # fmt: skip
    labels, n_permutations = shared["labels"], shared["n_permutations"]
    selective = None if labels is None else component_selectivity(activations, labels, signed=signed, seed=seed,
                                                                  n_permutations=n_permutations)  # fmt: skip
    return Measured(metrics, int(activations.shape[1]), decoder, *ground(fit), selective)
