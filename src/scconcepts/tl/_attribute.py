"""``tl.attribute``: which genes make each concept fire, by perturbing them and re-encoding the cells."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from anndata import AnnData

from scconcepts._device import resolve_device
from scconcepts._errors import InputError
from scconcepts._keys import (
    activations_key,
    attribution_key,
    embedding_key,
)
from scconcepts._threads import encoder_work, threads_by_size
from scconcepts.attribution import (
    ENGINES,
    GENE_SETS,
    TEST_NAME,
    GeneStatistics,
    counterfactual_neighbours,
    get_strategy,
    inactive_means,
    run_attribution,
    select_cells,
)
from scconcepts.attribution._workers import attribute_on_workers
from scconcepts.ds._lazy import is_lazy
from scconcepts.models._base import Encoder
from scconcepts.tl._attribution_table import write_attribution
from scconcepts.tl._concept_model import concept_model
from scconcepts.tl._lazy import SAMPLE_CELLS, _subset

logger = logging.getLogger(__name__)

CELL_SELECTIONS = ("top", "random")


def _move(encoder: Encoder, sae: Any, device: torch.device) -> None:
    """Put the encoder and the SAE (when it is a torch module) on ``device``."""
    encoder.to(device)
    if isinstance(sae, torch.nn.Module):
        sae.to(device)


def _check_options(adata: AnnData, key: str, method: str, n_cells: int, cells: str, genes: str, engine: str) -> None:
    get_strategy(method)
    if activations_key(key) not in adata.obsm:
        raise InputError(
            f"obsm[{activations_key(key)!r}] is missing: train the SAE first (tl.train_sae) or pass the key it used"
        )
    if isinstance(n_cells, bool) or not isinstance(n_cells, int | np.integer) or n_cells < 1:
        raise InputError(f"n_cells must be a positive integer, not {n_cells!r}")
    if cells not in CELL_SELECTIONS:
        raise InputError(f"cells must be one of {', '.join(CELL_SELECTIONS)}, not {cells!r}")
    if genes not in GENE_SETS:
        raise InputError(f"genes must be one of {', '.join(GENE_SETS)}, not {genes!r}")
    if engine not in ENGINES:
        raise InputError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")


def _concept_ids(concepts: Sequence[int] | None, n_concepts: int) -> np.ndarray:
    if concepts is None:
        return np.arange(n_concepts)
    ids = np.asarray(list(concepts), dtype=np.int64)
    bad = ids[(ids < 0) | (ids >= n_concepts)]
    if bad.size:
        raise InputError(f"concept {int(bad[0])} does not exist; concepts are numbered 0..{n_concepts - 1}")
    return np.unique(ids)


def _embedding(adata: AnnData, encoder: Encoder) -> np.ndarray:
    stored = adata.obsm.get(embedding_key(encoder.name))
    if stored is not None and stored.shape[0] == adata.n_obs:
        return np.asarray(stored)
    return encoder.embed(adata)


@threads_by_size(encoder_work)
def attribute(
    adata: AnnData,
    *,
    encoder: Encoder,
    sae: Any = None,
    key: str = "concepts",
    method: str = "baseline",
    n_cells: int = 50,
    cells: str = "top",
    genes: str = "expressed",
    engine: str = "auto",
    concepts: Sequence[int] | None = None,
    n_confirm: int = 10,
    confirm_share: float = 0.1,
    quantile: float = 0.95,
    layer: str | None = None,
    batch_size: int = 2048,
    seed: int = 0,
    client: Any = None,
    device: str | None = None,
    copy: bool = False,
) -> AnnData | None:
    """Attribute each concept to genes by perturbing them in the cells that activate it.

    For every concept the ``n_cells`` cells that activate it most (or a random sample of its
    activating cells) are taken; every gene each cell expresses is perturbed one at a time, the
    cell is re-encoded through ``encoder`` and ``sae``, and the change of **every** concept is
    recorded at once. The gene's *raw* effect on a concept is the mean signed change over the
    concept's cells divided by the concept's mean activation there (0.1 = the gene accounts for 10% of
    the concept's activation); each change is signed by the gene's move, so positive means the concept
    moves with the gene (a gene the concept's cells lack, whose lack lifts the concept, scores < 0; see
    :mod:`scconcepts.attribution._strategies`). Genes that the model reads strongly
    everywhere move every concept, so the default ranking is the *specific* score: the raw effect's
    size beyond the gene's typical effect size on the other concepts (see
    :mod:`scconcepts.attribution._specific`); attribute all concepts (the default) for that contrast
    to mean "specific". P-values test that excess with the cells as replicates against genes of similar
    overall effect (a random-effects z, one-sided), BH-adjusted per concept; the test is named in
    ``uns["<key>_attribution"]["test"]``. A Wilcoxon DE between activating and non-activating cells is
    stored beside it as the correlational baseline, with their agreement.

    The default ``method="baseline"`` (each gene set to its mean over the cells that do not activate the
    concept: a population counterfactual) was chosen on the FACS-sorted PBMC (``python -m benchmarks
    explanations``): ``mask`` removes the whole count, so its effects scale with the expression level and
    housekeeping genes fill the top genes (34% of top-10s with the specific score, 67% raw, vs 9% and 32%);
    the nearest non-activating neighbour (``counterfactual``) is usually a cell of the same type, which
    expresses the same markers (4 of the sorted types' canonical markers in their best concepts' top-10s,
    vs 11); ``mean`` (the dataset mean, the concept's own cells included) is close behind (10%, 10).

    Concepts of gene-token states (a run of :func:`~scconcepts.tl.train_token_sae`, ``params["tokens"]``) are
    attributed the same way with ``encoder`` the transformer they came from: the gene is perturbed in the cell's
    counts, the transformer re-run to the run's layer, every gene token of the cell (the stored sample of at most
    ``max_tokens_per_cell``, same seed) re-encoded by the token SAE and the concept's per-cell activation, the max
    over the tokens, measured (:class:`~scconcepts.attribution.TokenConceptEncoder`; exact engine only). That is
    "which genes cause it", beside the per-gene token activation ``varm["<key>_token_genes"]`` ("which gene
    tokens carry it").

    Parameters
    ----------
    adata
        Cells with the expression the encoder reads and the activations ``obsm["X_<key>"]``.
    encoder
        The model the concepts were learnt from.
    sae
        The SAE (its ``encode`` maps raw embeddings to activations), or any function embeddings ->
        activations whose output columns match ``obsm["X_<key>"]``.
    key
        Stem of the concept keys (``obsm["X_<key>"]`` in, ``varm["<key>_attribution"]`` out).
    method
        Perturbation: ``"baseline"`` (default: the concept's mean over its non-activating cells),
        ``"mean"``, ``"mask"``, ``"counterfactual"`` or ``"overexpress"``.
    n_cells
        Cells perturbed per concept.
    cells
        ``"top"``: the most activating cells; ``"random"``: a random sample of activating cells.
    genes
        ``"expressed"``: the genes each cell expresses; ``"all"``: every model gene.
    engine
        ``"auto"``, ``"exact"``, ``"shortcut"``, ``"fast"`` or ``"screen+confirm"`` (see
        :func:`scconcepts.attribution.run_attribution`).
    concepts
        Concept ids to attribute; default all. The others keep zero scores.
    n_confirm
        ``engine="screen+confirm"``: every perturbed cell of each concept's ``n_confirm`` genes of largest
        estimated |score| is re-encoded exactly (0: none).
    confirm_share
        ``engine="screen+confirm"``: besides, this share of all perturbations (rows: a cell with one gene
        perturbed) is re-encoded exactly, those with the largest estimated effect relative to the concept's
        activation. The other rows keep the screen's estimate; ``varm["<key>_attribution_exact"]`` says
        which share of each score was measured exactly. On pbmc68k with scVI, the defaults run about 16%
        of the exact engine's forwards and agree with it at Spearman >= 0.9 on every concept's top-50 genes
        (``benchmarks/bench_attribution.py``).
    quantile
        Quantile of a gene's non-zero values that ``overexpress`` raises it to.
    layer
        Layer holding the expression; ``None`` uses ``X``.
    batch_size
        Perturbed cells per forward batch.
    seed
        Seed of ``cells="random"``.
    client
        A ``dask.distributed`` client: the concepts' cells are split into chunks attributed on its workers
        and their sums merged (equal to one process; not with ``engine="screen+confirm"``). ``None``: here.
    device
        Torch device to move the encoder and the SAE to before perturbing (``"auto"``, ``"cpu"``,
        ``"cuda"``, ``"cuda:N"``, ``"mps"``; see :func:`scconcepts.tl.embed`); ``None`` leaves them where they are.
    copy
        Return a modified copy instead of writing into ``adata``.

    Returns
    -------
    ``None`` (or the copy) with ``varm["<key>_attribution"]`` (genes x concepts specific scores; genes the
    model does not read get 0), ``varm["<key>_attribution_raw"]`` (the raw causal effects),
    ``varm["<key>_attribution_padj"]``, ``..._pval``, ``..._fraction``,
    ``..._ncells``, for the ``fast`` and ``screen+confirm`` engines ``..._exact`` (share of each score measured
    exactly), ``varm["<key>_de"]`` (signed Wilcoxon z) and ``uns["<key>_attribution"]`` with
    ``params``, ``test`` (the significance test), ``cells`` (the cells used: concept, cell, activation, rank)
    and ``agreement`` (per concept: cells, mean activation, significant genes, top-20 overlap and Spearman with DE).

    """
    _check_options(adata, key, method, n_cells, cells, genes, engine)
    if device is not None:
        _move(encoder, sae, resolve_device(device))
    if is_lazy(adata):  # matrix on disk: read the perturbed cells and a sample only (see _attribute_lazy)
        target = adata.copy() if copy else adata
        _attribute_lazy(target, encoder=encoder, sae=sae, key=key, method=method, n_cells=n_cells, cells=cells,
            genes=genes, engine=engine, concepts=concepts, n_confirm=n_confirm, confirm_share=confirm_share,
            quantile=quantile, batch_size=batch_size, seed=seed, client=client, layer=layer)  # fmt: skip
        return target if copy else None
    if not 0 < quantile < 1:
        raise InputError(f"quantile must be between 0 and 1, not {quantile}")
    if isinstance(n_confirm, bool) or not isinstance(n_confirm, int | np.integer) or n_confirm < 0:
        raise InputError(f"n_confirm must be a non-negative integer, not {n_confirm!r}")
    if not 0 <= confirm_share <= 1:
        raise InputError(f"confirm_share must be between 0 and 1, not {confirm_share}")
    adata = adata.copy() if copy else adata
    strategy = get_strategy(method)
    encoder, components = concept_model(adata, key, encoder, sae)
    activations = sp.csr_matrix(adata.obsm[activations_key(key)])
    ids = _concept_ids(concepts, activations.shape[1])
    x = encoder.expression(adata, layer=layer)
    context = encoder.context(adata)
    _check_width(encoder, components, x, context, activations.shape[1])
    chosen = select_cells(activations, ids, n_cells=int(n_cells), how=cells, seed=seed)
    active = np.array([c.size > 0 for c in chosen])
    if not active.any():
        raise InputError(f"no cell activates any of the requested concepts in obsm[{activations_key(key)!r}]")
    ids_run = ids[active]
    chosen_run = [c for c, a in zip(chosen, active, strict=True) if a]
    neighbours, chosen_engine = None, chosen_run
    need_stats = method in {"mean", "overexpress"}
    gene_stats = GeneStatistics.from_expression(x, quantile=quantile) if need_stats else _no_stats(x.shape[1])
    if strategy.population:
        x, context, chosen_engine, neighbours = _with_baselines(x, context, activations, ids_run, chosen_run)
    elif strategy.needs_neighbour:
        neighbours = counterfactual_neighbours(_embedding(adata, encoder), activations, ids_run, chosen_run)
    options = {"strategy": strategy, "stats": gene_stats, "engine": engine, "genes": genes, "n_confirm": int(n_confirm),
               "confirm_share": float(confirm_share), "batch_size": batch_size}  # fmt: skip
    if client is None:
        result = run_attribution(
            encoder, components, x, context, ids_run, chosen_engine, neighbours=neighbours, **options
        )
    else:
        result = attribute_on_workers(
            encoder, components, x, context, ids_run, chosen_engine, client=client, neighbours=neighbours, **options
        )
    write_attribution(adata, key, encoder, activations, ids_run, chosen_run, result, layer)
    adata.uns[attribution_key(key)]["params"] = {
        "method": method, "engine": result.engine, "n_cells": int(n_cells), "cells": cells, "genes": genes,
        "n_confirm": int(n_confirm), "confirm_share": float(confirm_share), "quantile": float(quantile),
        "seed": int(seed), "model": encoder.name,
        "concepts": ids_run.astype(np.int64), "n_forwards": int(result.n_forwards),
        "n_gradients": int(result.n_gradients), "n_screened": int(result.n_screened),
        "n_forwards_exact": int(result.n_forwards_exact),
    }  # fmt: skip
    adata.uns[attribution_key(key)]["test"] = TEST_NAME
    return adata if copy else None


def _with_baselines(
    x: sp.csr_matrix, context: Any, activations: sp.csr_matrix, ids: np.ndarray, chosen: list[np.ndarray]
) -> tuple[sp.csr_matrix, Any, list[np.ndarray], list[np.ndarray]]:
    """The chosen cells' rows, then each concept's mean profile over its non-activating cells as a row.

    Returns the rows, their context, the chosen cells renumbered into those rows (in the same order,
    so the engine batches them as before) and, per concept, its cells' neighbour: its profile's row.
    Only the chosen cells are copied, not every cell's expression.
    """
    baselines = inactive_means(x, activations, ids)
    rows = np.unique(np.concatenate(chosen))
    local = [np.searchsorted(rows, cells).astype(np.int64) for cells in chosen]
    x = sp.vstack([x[rows], sp.csr_matrix(baselines)], format="csr")
    if context is not None:  # baseline rows only lend their values; any valid covariate code will do
        context = np.asarray(context)
        context = np.concatenate([context[rows], np.repeat(context[:1], len(ids), axis=0)])
    neighbours = [np.full(cells.size, rows.size + j, dtype=np.int64) for j, cells in enumerate(chosen)]
    return x, context, local, neighbours


def _no_stats(n_genes: int) -> GeneStatistics:
    zeros = np.zeros(n_genes, dtype=np.float32)
    return GeneStatistics(mean=zeros, high=zeros)


def _check_width(encoder: Encoder, components: Callable, x: sp.csr_matrix, context: Any, n_concepts: int) -> None:
    with torch.no_grad():
        probe = torch.as_tensor(x[:1].toarray(), device=encoder.device)
        ctx = None if context is None else torch.as_tensor(np.asarray(context)[:1], device=encoder.device)
        width = components(encoder.encode(probe, ctx)).shape[1]
    if width != n_concepts:
        raise InputError(
            f"the SAE gives {width} concepts but the activations hold {n_concepts}; pass the SAE that produced them"
        )


def _attribute_lazy(adata: AnnData, *, key: str, n_cells: int = 50, cells: str = "top",
                   concepts: Any = None, seed: int = 0, **options: Any) -> None:  # fmt: skip
    """:func:`scconcepts.tl.attribute` on a lazily read AnnData, reading only the cells it needs.

    The perturbed cells are chosen from the activations (in memory) exactly as in memory; they and a
    uniform sample of :data:`SAMPLE_CELLS` cells are read from disk. The non-activating baseline of each
    concept and the DE baseline come from those cells instead of all cells (logged).
    """
    if activations_key(key) not in adata.obsm:
        raise InputError(f"obsm[{activations_key(key)!r}] is missing: train the SAE first (tl.train_sae)")
    activations = sp.csr_matrix(adata.obsm[activations_key(key)])
    ids = np.arange(activations.shape[1]) if concepts is None else np.unique(np.asarray(list(concepts)))
    chosen = select_cells(activations, ids, n_cells=int(n_cells), how=cells, seed=seed)
    rng = np.random.default_rng(seed)
    sample = rng.choice(adata.n_obs, size=min(SAMPLE_CELLS, adata.n_obs), replace=False)
    rows = np.unique(np.concatenate([sample, *chosen]).astype(np.int64))
    logger.info(
        "attribution on cells read lazily: the %d perturbed cells and a sample of %d cells (%d read from disk); "
        "baselines and DE are taken from them, not from all %d cells",
        int(np.unique(np.concatenate(chosen)).size) if chosen else 0, sample.size, rows.size, adata.n_obs,
    )  # fmt: skip
    sub = _subset(adata, rows)
    attribute(sub, key=key, n_cells=n_cells, cells=cells, concepts=concepts, seed=seed, **options)
    for name, value in sub.varm.items():
        adata.varm[name] = value
    for name, value in sub.uns.items():
        adata.uns[name] = value
    adata.uns[f"{key}_attribution"]["params"]["cells_read"] = int(rows.size)
