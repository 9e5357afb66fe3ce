"""``tl.evaluate``: SAE concepts against neurons, PCA, ICA, NMF and dictionary learning, with spread over seeds."""

from __future__ import annotations

import itertools
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from anndata import AnnData

from scconcepts._errors import InputError
from scconcepts._keys import activations_key, params_key
from scconcepts._threads import sae_work, threads_by_size
from scconcepts.distributed._chunks import map_chunks
from scconcepts.evaluation._baselines import BASELINES, SEEDED, fit_baseline
from scconcepts.evaluation._explanation import (
    N_GENES,
    both_signs,
    explanation_scores,
    specific_genes,
    summarise_explanation,
)
from scconcepts.evaluation._fidelity import r2, sparsity
from scconcepts.evaluation._grounding import SUFFIXES, both_sides, oriented_function, share_of
from scconcepts.evaluation._monosemanticity import monosemanticity, orientation
from scconcepts.evaluation._sae_runs import consensus_settings, fit_sae, sae_fidelity, with_settings
from scconcepts.evaluation._selectivity import component_selectivity, selectivity_line, summarise_selectivity
from scconcepts.evaluation._stability import cross_dataset_stability, stability, stability_chance
from scconcepts.evaluation._sweep import default_grid, sweep
from scconcepts.sae import SAEConfig, informativeness
from scconcepts.sae._model import JUMP
from scconcepts.stats import excess_over_null, random_unit_atoms
from scconcepts.tl._grounding import grounding as ground_components

logger = logging.getLogger(__name__)

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
#: Metrics printed beside a chance level (column ``<metric>_chance``).
WITH_CHANCE = (
    "purity",
    "ami",
    "pure_share",
    "explanation_auroc",
    "explanation_spearman",
    "grounding",
    "grounding_specific",
    "grounding_distinct",
)
#: Grounding measures: any significant term, a term holding most of the component's top genes, distinct top terms.
GROUNDING = tuple(SUFFIXES)
#: Draws of random directions behind the grounding's chance level: one draw of twenty directions gave 20% to 50%
#: of them a term on pbmc68k, so the chance level is their mean over draws and the test pools every draw.
GROUNDING_DRAWS = 5
#: Label permutations for the chance level of purity, AMI and share >= 80% one type.
N_PERMUTATIONS = 10
#: Name of the random-directions null in the grounding.
RANDOM_DIRECTIONS = "random_directions"
#: Settings resolved from the data size, recomputed for the training cells of each evaluation run.
#: Fewest epochs an evaluation SAE trains for when the run's own stopping epoch is known.
MIN_EPOCHS = 20
AUTOMATIC = ("aux_k", "batch_size", "epochs", "patience", "sparse_backward", "dead_after")


def evaluation_key(key: str) -> str:
    """Return the ``uns`` key of the evaluation of run ``key``."""
    return f"{key}_evaluation"


def _sae_config(params: dict[str, Any], overrides: dict[str, Any]) -> SAEConfig:
    """The run's SAE settings; the epochs budget is 1.5 x the epochs the run needed to reach its best."""
    values = {name: (None if isinstance(value, str) and value == "none" else value) for name, value in params.items()}
    values = {name: (value.item() if isinstance(value, np.generic) else value) for name, value in values.items()}
    if values.get("inference") == JUMP:  # a programs run: the SAEs evaluated beside it use their own inference
        values["inference"] = None
    config = SAEConfig.from_dict({**values, **dict.fromkeys(AUTOMATIC)})
    best_epoch = values.get("best_epoch")
    if best_epoch is not None and "epochs" not in overrides:
        config = with_settings(config, epochs=_epoch_budget(best_epoch, values.get("epochs")))
    unknown = set(overrides) - set(SAEConfig.__dataclass_fields__)
    if unknown:
        raise InputError(f"unknown SAE settings {sorted(unknown)}; see scconcepts.sae.SAEConfig")
    return with_settings(config, **overrides)


def _epoch_budget(best_epoch: Any, epochs: Any = None) -> int:
    """1.5 x the epochs a run needed to reach its best (at least ``MIN_EPOCHS``), at most its own ``epochs``."""
    budget = max(MIN_EPOCHS, math.ceil(1.5 * (int(best_epoch) + 1)))
    return budget if epochs is None else min(budget, int(epochs))


def _seed_budget(summary: Any) -> int | None:
    """Epochs for a consensus's seed runs: the budget of the latest epoch a seed of the run kept.

    ``None`` (automatic) for runs that did not record them.
    """
    if "seed_epochs" not in summary or "seed_best_epoch" not in summary:
        return None
    return _epoch_budget(summary["seed_best_epoch"], summary["seed_epochs"])


def _split(adata: AnnData, info: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    held_out = "test_cells" if "test_cells" in info else "val_cells"  # test cells: early stopping never saw them
    if held_out not in info:
        raise InputError("the SAE run has no held-out cells (uns[...]['test_cells']); rerun scconcepts.tl.train_sae")
    val_rows = adata.obs_names.get_indexer(np.asarray(info[held_out]).astype(str))
    if (val_rows < 0).any():
        raise InputError(
            "some held-out cells of the SAE run are not in adata; evaluate the object the SAE was trained on"
        )
    train_rows = np.setdiff1d(np.arange(adata.n_obs), val_rows)
    return train_rows, np.sort(val_rows)


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


def _expression(adata: AnnData, n_genes: int) -> Any:
    """Log-normalised expression for the explanation score, or ``None`` (said once) when the object has none."""
    from scconcepts.tl._explanation import log_expression

    if adata.n_vars < 4 * n_genes:
        logger.info("explanation score skipped: %d genes (needs at least %d)", adata.n_vars, 4 * n_genes)
        return None
    try:
        return log_expression(adata)
    except InputError as error:
        logger.info("explanation score skipped: %s", error)
        return None


def _summarise(per_seed: pd.DataFrame, n_components: dict[str, int]) -> pd.DataFrame:
    grouped = per_seed.drop(columns="seed").groupby("method", sort=False)
    mean, std = grouped.mean(), grouped.std(ddof=0)
    table = pd.DataFrame(index=mean.index)
    for name in mean.columns:
        table[name], table[f"{name}_std"] = mean[name], std[name]
    table.insert(0, "n_components", [n_components[m] for m in table.index])
    table.insert(1, "n_seeds", grouped.size())
    table.index.name = "method"
    return table


def _chance_of(measures: dict[str, float]) -> dict[str, float]:
    """Stability of random atoms under ``<measure>_chance`` names."""
    return {f"{name}_chance": value for name, value in measures.items() if name != "n_pairs"}


def _hits(share: float, n: int) -> int:
    return round(share * n)


def _grounding_chance(
    per_seed: pd.DataFrame, draws: list[dict[str, float]], n_grounded: dict[str, int], n_null: int
) -> None:
    """Per grounding measure, add the chance level and the excess over it.

    ``<m>_chance`` and ``<m>_chance_sd`` are the mean and spread over the random-direction draws; ``<m>_excess``
    and ``<m>_pvalue`` a one-sided Fisher test of each seed's components against every draw's.
    """
    if not draws:
        return
    for metric in GROUNDING:
        if metric not in per_seed:
            continue
        chances = np.array([share_of(draw, metric) for draw in draws])
        null_hits = sum(_hits(chance, n_null) for chance in chances)
        tests = [
            excess_over_null(_hits(share, n_grounded[method]), n_grounded[method], null_hits, n_null * len(chances))
            if np.isfinite(share) and np.isfinite(chances).all()
            else {"chance": float("nan"), "excess": float("nan"), "pvalue": float("nan")}
            for method, share in zip(per_seed["method"], per_seed[metric], strict=True)
        ]
        per_seed[f"{metric}_chance"] = [t["chance"] for t in tests]
        per_seed[f"{metric}_chance_sd"] = float(np.std(chances))
        per_seed[f"{metric}_excess"] = [t["excess"] for t in tests]
        per_seed[f"{metric}_pvalue"] = [t["pvalue"] for t in tests]


def _pooled_pvalue(
    per_seed: pd.DataFrame, metric: str, draws: list[dict[str, float]], n_grounded: dict[str, int], n_null: int
) -> list[float]:
    """Per method, the excess test on its components pooled over seeds against the components of every draw."""
    null_hits = sum(_hits(share_of(draw, metric), n_null) for draw in draws)
    out = []
    for method, rows in per_seed.groupby("method", sort=False):
        if not draws or rows[metric].isna().all():
            out.append(float("nan"))
            continue
        n = n_grounded[method]
        hits = sum(_hits(share, n) for share in rows[metric])
        out.append(excess_over_null(hits, n * len(rows), null_hits, n_null * len(draws))["pvalue"])
    return out


def _ground(
    adata: AnnData, encoder: Any, method: str, fit: Any, *, alpha: float, sources: Any
) -> tuple[dict[str, float], int]:
    """Shares of one fit's grounded components per source, and how many components were grounded.

    SAE concepts are grounded as they are; random directions oriented towards their heavy tail and clipped at
    zero; signed baselines (neurons, PCA, ICA, dictionary learning) on both sides, each side a component, so
    that a basis of ``d`` axes offers ``2 d`` components as a programs dictionary of ``d`` components does.
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
    shares = ground_components(
        adata, encoder=encoder, name=method, components=components, activations=activations, alpha=alpha,
        sources=sources,
    )  # fmt: skip
    return shares, int(activations.shape[1])


@dataclass
class _Measured:
    """What one evaluation unit sends back: small, whatever the number of cells."""

    metrics: dict[str, Any]
    n_components: int
    decoder: np.ndarray | None
    shares: dict[str, float] | None  # grounding shares per gene-set source, when this unit grounded its fit
    n_grounded: int | None  # components grounded (both sides of a signed baseline's axes)
    selectivity: dict[str, dict[str, float]] | None = None  # per label, the best component's AUROC (with labels)


#: One work unit of the evaluation: (method, seed of the measures, seed of the fit).
Unit = tuple[str, int, int]


def _units(seeds: Sequence[int], methods: Sequence[str], *, draws: int) -> list[Unit]:
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


def _measure(unit: Unit, shared: dict[str, Any]) -> _Measured:
    """Fit one method with one seed on the training cells and measure it (the work of one task)."""
    method, seed, fit_seed = unit
    embedding, train_rows, val_rows = shared["embedding"], shared["train_rows"], shared["val_rows"]
    n_concepts = shared["n_concepts"]
    grounds = shared["encoder"] is not None and seed == fit_seed  # deterministic methods: first seed only

    def ground(fit: Any) -> tuple[dict[str, float], int] | tuple[None, None]:
        if not grounds:
            return None, None
        return _ground(
            _scratch(shared["adata"]), shared["encoder"], method, fit, alpha=shared["grounding_alpha"],
            sources=shared["grounding_sources"],
        )  # fmt: skip

    if method == RANDOM_DIRECTIONS:  # the null: as many random directions as concepts, same pipeline
        atoms = random_unit_atoms(n_concepts, embedding.shape[1], seed=seed)
        centre = embedding[train_rows].mean(axis=0)
        return _Measured({}, n_concepts, None, *ground((embedding, centre, atoms)))
    if method == "sae":
        sae = fit_sae(embedding, train_rows, with_settings(shared["fit_config"], seed=seed), shared["consensus"])
        metrics, activations = sae_fidelity(sae, embedding, val_rows)
        signed, fit, decoder = False, (sae, activations), sae.W_dec.detach().cpu().numpy()
    else:
        rep = fit_baseline(method, embedding, train_rows, n_concepts=n_concepts, k=shared["k"], seed=fit_seed)
        metrics = {"r2": r2(embedding[val_rows], rep.reconstruction[val_rows])}
        metrics.update(sparsity(rep.activations[val_rows]))
        activations, signed, fit, decoder = rep.activations, rep.signed, rep, rep.decoder
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
    return _Measured(metrics, int(activations.shape[1]), decoder, *ground(fit), selective)


def _scratch(adata: AnnData) -> AnnData:
    """An AnnData sharing ``adata``'s matrices whose mappings take temporary keys without touching ``adata``."""
    return AnnData(
        X=adata.X, obs=adata.obs, var=adata.var, obsm=dict(adata.obsm), layers=dict(adata.layers), uns=dict(adata.uns)
    )


def _other_embedding(other: AnnData, use_rep: str, encoder: Any, dim: int) -> np.ndarray:
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


def _cross_dataset(
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


@threads_by_size(sae_work)
def evaluate(
    adata: AnnData,
    *,
    key: str = "concepts",
    seeds: Sequence[int] = (0, 1, 2),
    methods: Sequence[str] = BASELINES,
    labels_key: str | None = None,
    n_top: int | None = None,
    sweep_k: Sequence[int] | None = None,
    sweep_expansion: Sequence[int] | None = None,
    run_sweep: bool = True,
    encoder: Any = None,
    grounding: bool = True,
    grounding_alpha: float = 0.05,
    grounding_sources: Any = "auto",
    grounding_draws: int = GROUNDING_DRAWS,
    other: AnnData | None = None,
    other_name: str = "other",
    n_permutations: int = N_PERMUTATIONS,
    explanation: bool = True,
    explanation_genes: int = N_GENES,
    client: Any = None,
    **sae_options: Any,
) -> dict[str, Any]:
    """Measure SAE concepts and baseline components of the same embedding on the same held-out cells.

    For each seed an SAE with the run's settings is trained on the training cells only (every cell
    not in ``uns[key]["test_cells"]``), and so is each baseline (see
    :func:`scconcepts.evaluation.fit_baseline`). Each representation is measured for fidelity and
    sparsity on the held-out cells (R^2 with the definition of
    :func:`scconcepts.sae.reconstruction_metrics`, L0, dead fraction), informativeness
    (cross-validated balanced accuracy of a cell-type classifier, :func:`scconcepts.sae.informativeness`)
    and monosemanticity (:func:`scconcepts.evaluation.monosemanticity` over all cells). Decoders of
    the seeded methods are matched across seeds (:func:`scconcepts.evaluation.stability`). A
    k x expansion sweep of the SAE follows.

    Parameters
    ----------
    adata
        Cells with the embedding and the SAE run ``key`` written by :func:`scconcepts.tl.train_sae`.
    key
        Stem of the SAE run to evaluate.
    seeds
        Random seeds; every figure is the mean and standard deviation over them.
    methods
        Baselines to compare with (``"neurons"``, ``"pca"``, ``"ica"``, ``"nmf"``, ``"dictionary"``).
    labels_key
        ``obs`` column of cell types; ``None`` uses the run's (informativeness and monosemanticity
        are skipped without labels).
    n_top
        Top cells per component for monosemanticity (default: 5% of cells, 10 to 100).
    sweep_k, sweep_expansion
        Grid of the sweep (their product; one of them ``None`` keeps the run's value); both ``None``
        use :func:`scconcepts.evaluation.default_grid`, a cross of half and double the run's values.
    run_sweep
        Whether to run the sweep at all.
    encoder
        The model the embedding came from (:func:`scconcepts.models.load_encoder`). When given, every
        seed's SAE concepts and baseline components (oriented, clipped at zero; deterministic methods
        once; signed baselines on both sides of each axis, so a basis of ``d`` axes is grounded as ``2 d``
        components) are attributed to genes by exact re-encoding and enriched (:func:`scconcepts.tl.enrich`,
        GO BP by default); ``grounding`` is the share of components with a term at FDR
        < ``grounding_alpha``, ``grounding_specific`` the share with such a term holding at least
        half of the component's top 10 genes, ``grounding_distinct`` the number of distinct top terms
        per component (programs, not repeats of one), each with its spread over seeds. Their chance level
        (``<m>_chance``, with ``<m>_chance_sd`` over draws) is the mean share of ``grounding_draws`` draws of
        as many random unit directions of the embedding put through the same attribution and enrichment;
        ``<m>_excess`` is the difference and ``<m>_pvalue`` a one-sided Fisher exact test of it (components
        pooled over seeds against the components of every draw).
    grounding
        Whether to measure the grounding when ``encoder`` is given.
    grounding_alpha
        FDR threshold of the grounding.
    grounding_sources
        Gene-set sources of the grounding's enrichment (:func:`scconcepts.tl.enrich`; default GO BP);
        the table's ``grounding`` column is the first source's share.
    grounding_draws
        Draws of random directions behind the grounding's chance level.
    other
        A second dataset for stability across datasets: embedded by the same model (its
        ``obsm[use_rep]`` if present, else ``encoder.embed(other)``), it gets its own SAE per seed
        and its own PCA, ICA, NMF and dictionary fits on all its cells, with seeds other than
        ``seeds``; every run on it is matched with every run on ``adata``
        (:func:`scconcepts.evaluation.cross_dataset_stability`).
    other_name
        Name of the second dataset in the results.
    n_permutations
        Label permutations giving the chance levels of purity, AMI and share >= 80% one type
        (``<metric>_chance``: the same top cells scored against permuted cell types).
    explanation
        Whether to measure the explanation score (:func:`scconcepts.tl.explanation_score`): every
        component (both signs of signed ones: neurons, PCA, ICA, dictionary learning) is explained by
        its ``explanation_genes`` top specific genes on the training cells, and that gene set alone,
        scored on the held-out cells, is compared with the component's activation there
        (``explanation_auroc``, ``explanation_spearman``; random gene sets of the same size give
        ``<metric>_chance``). The run's own concepts get the same score per concept in the concept
        table, from their attribution when the run has one.
    explanation_genes
        Genes per explanation.
    client
        A ``dask.distributed`` client: each (method, seed) fit with its measures and grounding, and the
        random-directions null, is a task on its workers (the embedding, the expression and, for the
        grounding, the cells and the encoder are sent to each worker once). The figures equal one process's.
        The second dataset's fits are tasks too; the sweep runs here.
    **sae_options
        :class:`~scconcepts.sae.SAEConfig` fields overriding the run's (e.g. ``epochs``). By default
        each SAE trains for 1.5 x the epochs the run needed to reach its best validation loss (at
        least 20, at most the run's budget), with early stopping.

    Returns
    -------
    A dict, also stored in ``uns["<key>_evaluation"]``: ``table`` (methods x metrics, ``<metric>``
    and ``<metric>_std``; ``<metric>_chance`` beside purity, AMI, share >= 80% one type,
    explanation and grounding; ``grounding[_specific]_excess`` and ``_pvalue``), ``per_seed`` (long
    table), ``stability`` (per seeded method, with ``matched_cosine_chance`` and
    ``reproduced_chance`` of random unit atoms of the same count and dimension), ``sweep``
    (DataFrame), ``grounding`` (the first seed's shares per gene-set source, ``random_directions``
    included), ``cross_dataset`` (with ``other``: ``name``, ``n_cells`` and per method the matched
    measures), ``selectivity`` (with labels, :func:`scconcepts.evaluation.summarise_selectivity`: per
    label the best component's AUROC of each method and of the run's own concepts, ``run``, with the
    concepts' chance level; per run concept its top label's share of the activation mass and lift),
    ``concepts_explanation`` and ``explanation`` (the run's own concepts, per concept and
    summarised, when the object holds expression) and ``params``.

    """
    if params_key(key) not in adata.uns:
        raise InputError(f"uns[{key!r}] not found; run scconcepts.tl.train_sae first (or pass the right key)")
    if len(seeds) < 1 or len(set(seeds)) != len(seeds):
        raise InputError(f"seeds must be distinct and at least one, got {list(seeds)}")
    unknown = set(methods) - set(BASELINES)
    if unknown:
        raise InputError(f"unknown baselines {sorted(unknown)}; choose from {', '.join(BASELINES)}")
    info = adata.uns[params_key(key)]
    params = dict(info["params"])
    use_rep = str(params["use_rep"])
    if use_rep not in adata.obsm:
        raise InputError(f"obsm[{use_rep!r}] (the SAE's embedding) not found; run scconcepts.tl.embed first")
    embedding = np.asarray(adata.obsm[use_rep], dtype=np.float64)
    labels_key = labels_key or (None if params.get("labels_key") in (None, "none") else str(params["labels_key"]))
    if labels_key is not None and labels_key not in adata.obs:
        raise InputError(f"obs[{labels_key!r}] not found; pass labels_key= one of {list(adata.obs.columns)}")
    labels = adata.obs[labels_key].astype(str).to_numpy() if labels_key else None
    config = _sae_config(params, sae_options)
    consensus = consensus_settings(info.get("consensus"))
    fit_config = config
    if consensus is not None and "epochs" not in sae_options:  # the budget of the seeds' runs, not the refit's
        fit_config = with_settings(config, epochs=_seed_budget(info["consensus"]))
    other_embedding = None if other is None else _other_embedding(other, use_rep, encoder, embedding.shape[1])
    k, expansion = int(config.k), int(config.expansion)
    n_concepts = expansion * embedding.shape[1]
    train_rows, val_rows = _split(adata, info)
    start = time.perf_counter()
    expression = _expression(adata, explanation_genes) if explanation else None

    grounds = encoder is not None and grounding
    shared = {
        "embedding": embedding, "train_rows": train_rows, "val_rows": val_rows, "config": config,
        "n_concepts": n_concepts, "k": k, "labels": labels, "n_top": n_top, "n_permutations": n_permutations,
        "expression": expression, "explanation_genes": explanation_genes, "fit_config": fit_config,
        "adata": _scratch(adata) if grounds else None, "encoder": encoder if grounds else None,
        "grounding_alpha": grounding_alpha, "grounding_sources": grounding_sources, "consensus": consensus,
    }  # fmt: skip
    if isinstance(grounding_draws, bool) or not isinstance(grounding_draws, int) or grounding_draws < 1:
        raise InputError(f"grounding_draws must be a positive integer, not {grounding_draws!r}")
    units = _units(seeds, methods, draws=grounding_draws if grounds else 0)
    measured = map_chunks(_measure, units, shared, client=client, desc="evaluation fits")

    rows: list[dict[str, Any]] = []
    decoders: dict[str, list[np.ndarray]] = {"sae": [], **{m: [] for m in methods if m in SEEDED}}
    n_components: dict[str, int] = {"sae": n_concepts}
    first_decoder: dict[str, np.ndarray | None] = {}
    grounded: dict[str, dict[str, float]] = {}  # the first seed's shares per source, the null first
    n_grounded: dict[str, int] = {}
    draws = [unit.shares for (method, _, _), unit in zip(units, measured, strict=True) if method == RANDOM_DIRECTIONS]
    for (method, seed, _), unit in zip(units, measured, strict=True):
        if method == RANDOM_DIRECTIONS:
            continue
        if unit.shares is not None:
            grounded.setdefault(method, unit.shares)
            n_grounded.setdefault(method, unit.n_grounded)
        metrics = dict(unit.metrics)
        if grounds:  # a deterministic method was grounded once: the same components every seed
            shares = grounded[method] if unit.shares is None else unit.shares
            metrics.update({measure: share_of(shares, measure) for measure in GROUNDING})
        n_components[method] = unit.n_components
        first_decoder.setdefault(method, unit.decoder)
        rows.append({"method": method, "seed": seed, **metrics})
        if method in decoders:
            decoders[method].append(unit.decoder)
    per_seed = pd.DataFrame(rows)
    if draws:  # the null's mean shares first, as the table's readers expect
        grounded = {RANDOM_DIRECTIONS: {name: float(np.mean([d[name] for d in draws])) for name in draws[0]},
                    **grounded}  # fmt: skip
    _grounding_chance(per_seed, draws, n_grounded, n_concepts)
    pvalues = [f"{metric}_pvalue" for metric in GROUNDING]
    table = _summarise(per_seed.drop(columns=pvalues, errors="ignore"), n_components)
    if n_grounded:
        table.insert(2, "n_grounded", [n_grounded.get(m, np.nan) for m in table.index])
    for metric in GROUNDING:
        if f"{metric}_chance" in per_seed:
            table[f"{metric}_pvalue"] = _pooled_pvalue(per_seed, metric, draws, n_grounded, n_concepts)
    stable = {
        method: {**stability(matrices), **_chance_of(stability_chance(len(matrices[0]), embedding.shape[1]))}
        for method, matrices in decoders.items()
        if matrices
    }

    cross: dict[str, Any] = {}
    if other_embedding is not None:
        first_decoders = dict(decoders)
        if "pca" in first_decoder:
            first_decoders["pca"] = [first_decoder["pca"]]
        cross = {
            "name": other_name,
            "n_cells": int(other_embedding.shape[0]),
            "methods": _cross_dataset(
                other_embedding,
                fit_config,
                seeds,
                first_decoders,
                n_concepts=n_concepts,
                consensus=consensus,
                client=client,
            ),
        }

    sweep_table = pd.DataFrame(columns=["k", "expansion", "n_concepts", "r2", "l0", "dead_fraction"])
    if run_sweep:
        if sweep_k is None and sweep_expansion is None:
            grid = default_grid(k, expansion, embedding.shape[1])
        else:
            grid = list(itertools.product(sweep_k or [k], sweep_expansion or [expansion]))
        first = per_seed[(per_seed["method"] == "sae") & (per_seed["seed"] == seeds[0])].iloc[0]
        known = {(k, expansion): {name: float(first[name]) for name in ("r2", "l0", "dead_fraction")}}
        if consensus:  # the grid is of single SAEs: a consensus's own figures are not one of its points
            known = {}
        sweep_table = sweep(
            embedding,
            train_rows,
            val_rows,
            with_settings(config, seed=int(seeds[0])),
            grid=grid,
            known=known,
        )
    result = {
        "table": table,
        "per_seed": per_seed,
        "stability": stable,
        "sweep": sweep_table,
        "grounding": grounded,
        "grounding_null": {"draws": draws, "n_components": n_concepts},
        "cross_dataset": cross,
        "params": {
            "key": key,
            "use_rep": use_rep,
            "labels_key": labels_key or "none",
            "seeds": [int(s) for s in seeds],
            "k": k,
            "expansion": expansion,
            "n_concepts": n_concepts,
            "sae_fit": (
                f"consensus of {consensus['n_seeds']} seeds per evaluation seed s (seeds s*{consensus['n_seeds']} "
                "onwards), as the run made its concepts"
                if consensus
                else "one SAE per seed"
            ),
            "n_cells_train": len(train_rows),
            "n_cells_heldout": len(val_rows),
            "n_permutations": int(n_permutations),
            "explanation": "top specific genes on the training cells" if expression is not None else "none",
            "explanation_genes": int(explanation_genes),
            "grounding_null": (
                f"{len(draws)} draws of {n_concepts} random unit directions of the embedding" if draws else "none"
            ),
            "seconds": time.perf_counter() - start,
        },
    }
    if expression is not None and activations_key(key) in adata.obsm and "table" in info:
        from scconcepts.tl._explanation import explanation_score

        result["concepts_explanation"] = explanation_score(adata, key=key, n_genes=explanation_genes)
        result["explanation"] = dict(info["explanation"])
    if labels is not None:  # the best component's AUROC per label, from the fits above (and the run's concepts)
        runs = [(method, seed, unit.selectivity) for (method, seed, _), unit in zip(units, measured, strict=True)]
        own = adata.obsm.get(activations_key(key))
        result["selectivity"] = summarise_selectivity(
            runs, labels, run_activations=own, n_permutations=n_permutations, seed=int(seeds[0])
        )
        logger.info("%s", selectivity_line(result["selectivity"]))
    adata.uns[evaluation_key(key)] = result
    sae_row = table.loc["sae"]
    logger.info(
        "evaluation over %d seeds: SAE held-out R^2 %.3f +- %.3f, pure share %.2f; stability %.3f",
        len(seeds),
        sae_row["r2"],
        sae_row["r2_std"],
        sae_row.get("pure_share", float("nan")),
        stable["sae"]["matched_cosine"],
    )
    return result
