"""``tl.evaluate``: SAE concepts against neurons, PCA, ICA, NMF and dictionary learning, with spread over seeds.

The entry point: it checks the inputs, reads the run's settings and held-out cells, and stores the result of
:func:`scconcepts.evaluation._compare.compare` (fits, measures, grounding, tables) under ``uns``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from anndata import AnnData

from scconcepts._errors import InputError
from scconcepts._keys import activations_key, params_key
from scconcepts._threads import sae_work, threads_by_size
from scconcepts.evaluation._baselines import BASELINES
from scconcepts.evaluation._compare import EvaluationPlan, Grounding, compare
from scconcepts.evaluation._cross_dataset import other_embedding
from scconcepts.evaluation._explanation import N_GENES
from scconcepts.evaluation._grounding_null import GROUNDING, GROUNDING_DRAWS
from scconcepts.evaluation._sae_runs import run_settings
from scconcepts.evaluation._summary import METRICS, WITH_CHANCE
from scconcepts.evaluation._token_rows import TokenRows, token_rows
from scconcepts.evaluation._units import RANDOM_DIRECTIONS
from scconcepts.models._token_store import TokenStore, open_store
from scconcepts.tl._explanation import explanation_score, log_expression
from scconcepts.tl._grounding import grounding as ground_components

logger = logging.getLogger(__name__)

__all__ = ["GROUNDING", "METRICS", "RANDOM_DIRECTIONS", "WITH_CHANCE", "evaluate", "evaluation_key"]

#: Label permutations for the chance level of purity, AMI and share >= 80% one type.
N_PERMUTATIONS = 10


def evaluation_key(key: str) -> str:
    """Return the ``uns`` key of the evaluation of run ``key``."""
    return f"{key}_evaluation"


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


def _expression(adata: AnnData, n_genes: int) -> Any:
    """Log-normalised expression for the explanation score, or ``None`` (said once) when the object has none."""
    if adata.n_vars < 4 * n_genes:
        logger.info("explanation score skipped: %d genes (needs at least %d)", adata.n_vars, 4 * n_genes)
        return None
    try:
        return log_expression(adata)
    except InputError as error:
        logger.info("explanation score skipped: %s", error)
        return None


def _token_sample(params: dict[str, Any], store: Any, held_out: np.ndarray, *, seed: int, other: Any) -> TokenRows:
    """The gene tokens a token run is evaluated on (from ``store``), or one line saying what is missing."""
    if store is None:
        raise InputError(f"these concepts were learnt on gene-token states ({params.get('layer')}); pass store= "
                         "(the run's tokens/ folder) to evaluate them on tokens")  # fmt: skip
    if other is not None:
        raise InputError("stability across datasets is not measured for a token run; leave out other=")
    return token_rows(store if isinstance(store, TokenStore) else open_store(store), held_out, seed=seed)


def _check(
    adata: AnnData, key: str, seeds: Sequence[int], methods: Sequence[str], labels_key: str | None
) -> tuple[Any, str, str | None]:
    """``(the run's record, its embedding's key, the labels' column)``, each checked with the seeds and baselines."""
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
    if not params.get("tokens") and use_rep not in adata.obsm:
        raise InputError(f"obsm[{use_rep!r}] (the SAE's embedding) not found; run scconcepts.tl.embed first")
    labels_key = labels_key or (None if params.get("labels_key") in (None, "none") else str(params["labels_key"]))
    if labels_key is not None and labels_key not in adata.obs:
        raise InputError(f"obs[{labels_key!r}] not found; pass labels_key= one of {list(adata.obs.columns)}")
    return info, use_rep, labels_key


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
    store: TokenStore | str | Path | None = None,
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
    store
        For a token run (``run --tokens``, ``tl.train_token_sae``): its token store or the store's folder. Every
        method is then fitted and measured on a seeded sample of at most 20,000 of its gene tokens
        (:func:`scconcepts.evaluation._token_rows.token_rows`): training tokens from the run's training cells,
        held-out tokens from its held-out cells, each token labelled by its cell. Grounding, the explanation
        score and ``other`` are not measured on tokens.
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
    info, use_rep, labels_key = _check(adata, key, seeds, methods, labels_key)
    if isinstance(grounding_draws, bool) or not isinstance(grounding_draws, int) or grounding_draws < 1:
        raise InputError(f"grounding_draws must be a positive integer, not {grounding_draws!r}")
    config, fit_config, consensus = run_settings(info, sae_options)
    rows = _split(adata, info)
    labels = adata.obs[labels_key].astype(str).to_numpy() if labels_key else None
    start = time.perf_counter()
    if info["params"].get("tokens"):
        sample = _token_sample(info["params"], store, rows[1], seed=int(seeds[0]), other=other)
        embedding, rows, labels = sample.states, sample.rows, None if labels is None else labels[sample.cells]
        expression, encoder, second, run_activations, extra = None, None, None, None, {}
        logger.info("token run: every method is fitted and measured on %d gene tokens (%s) of %d cells, each "
                    "labelled by its cell; grounding and explanation are not measured on tokens",
                    len(embedding), info["params"].get("layer"), len(np.unique(sample.cells)))  # fmt: skip
    else:
        embedding = np.asarray(adata.obsm[use_rep], dtype=np.float64)
        second = None if other is None else other_embedding(other, use_rep, encoder, embedding.shape[1])
        expression = _expression(adata, explanation_genes) if explanation else None
        run_activations, extra = adata.obsm.get(activations_key(key)), {}
        if expression is not None and activations_key(key) in adata.obsm and "table" in info:
            extra["concepts_explanation"] = explanation_score(adata, key=key, n_genes=explanation_genes)
            extra["explanation"] = dict(info["explanation"])
    plan = EvaluationPlan(
        key=key, use_rep=use_rep, embedding=embedding, rows=rows, config=config, fit_config=fit_config,
        consensus=consensus, seeds=seeds, methods=methods, labels_key=labels_key, labels=labels, n_top=n_top,
        n_permutations=n_permutations, expression=expression, explanation_genes=explanation_genes,
        grounding=Grounding(adata, encoder, ground_components, grounding_alpha, grounding_sources, grounding_draws)
        if encoder is not None and grounding else None,
        other=second, other_name=other_name, sweep=run_sweep, sweep_k=sweep_k, sweep_expansion=sweep_expansion,
        run_activations=run_activations, extra=extra, start=start,
    )  # fmt: skip
    result = compare(plan, client=client)
    result["params"]["rows"] = (
        f"gene tokens ({info['params'].get('layer')}), a seeded sample of {len(embedding)}, split by cell and "
        "labelled by cell" if info["params"].get("tokens") else "cells"
    )  # fmt: skip
    adata.uns[evaluation_key(key)] = result
    sae_row = result["table"].loc["sae"]
    logger.info(
        "evaluation over %d seeds: SAE held-out R^2 %.3f +- %.3f, pure share %.2f; stability %.3f",
        len(seeds),
        sae_row["r2"],
        sae_row["r2_std"],
        sae_row.get("pure_share", float("nan")),
        result["stability"]["sae"]["matched_cosine"],
    )
    return result
