"""``tl.faithfulness``: how far a concept falls when its top attributed, top DE or random genes are taken away.

An attribution is worth showing when its genes are what the model reads: setting a concept's top attributed
genes to the concept's baseline together (the mean over its non-activating cells) should lower the concept in
its top cells at least as far as setting its top differentially expressed genes there, and further than as
many random genes its cells express (mean + 2 sd of a few draws). The falls come from
:func:`scconcepts.evaluation._deletion.deletion_falls`. Token concepts are re-encoded as :func:`scconcepts.tl.attribute`
re-encodes them (the max over each cell's gene tokens).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from anndata import AnnData

from scconcepts._errors import InputError
from scconcepts._keys import activations_key, attribution_key, de_key, params_key
from scconcepts._threads import encoder_work, threads_by_size
from scconcepts.ds._lazy import is_lazy
from scconcepts.evaluation._deletion import deletion_falls
from scconcepts.models._base import Encoder
from scconcepts.stats._faithfulness import COLUMNS, N_SD, beats, faithfulness_summary
from scconcepts.tl._de import log_normalised, wilcoxon_scores

logger = logging.getLogger(__name__)

#: Genes in each set taken away (top attributed, top DE, each random draw).
N_GENES = 10
#: Random draws behind the chance level.
N_RANDOM = 10
#: A concept's most active cells in which its genes are taken away.
N_CELLS = 50


@threads_by_size(encoder_work)
def faithfulness(
    adata: AnnData,
    *,
    encoder: Encoder,
    sae: Any,
    key: str = "concepts",
    n_genes: int = N_GENES,
    n_cells: int = N_CELLS,
    n_random: int = N_RANDOM,
    layer: str | None = None,
    seed: int = 0,
    batch_size: int = 2048,
) -> pd.DataFrame:
    """Measure each concept's fall from its top attributed genes, top DE genes and random genes; add it to its table.

    Every concept with active cells is re-encoded in its ``n_cells`` most active cells with a gene set at its
    baseline (the mean over the cells that do not activate it): its ``n_genes`` top attributed genes
    (``varm["<key>_attribution"]``), its ``n_genes`` top DE genes among those the model reads
    (``varm["<key>_de"]``, written by :func:`~scconcepts.tl.attribute`; computed here only when absent) and
    ``n_random`` draws of ``n_genes`` genes expressed in at least half of those cells. Each concept's copies go
    through the model in one or a few batches.

    Parameters
    ----------
    adata
        Cells with the SAE run ``key`` and its attribution.
    encoder
        The model that embedded the cells.
    sae
        The SAE (with ``.encode``) or a function embeddings -> activations.
    key
        Stem of the concept keys.
    n_genes, n_cells, n_random
        Genes per set, cells per concept, random draws.
    layer
        Layer holding the expression the model reads; ``None`` uses ``X``.
    seed
        Seed of the random draws.
    batch_size
        Most cells re-encoded at once.

    Returns
    -------
    Per concept (index: concept id) the columns of :data:`COLUMNS`: ``fall_*`` are ``1 - mean activation
    after / before`` (NaN for a concept no cell activates), ``faithful`` whether ``fall_attributed`` is at
    least ``fall_de`` (ties within 0.001 count) and above ``fall_random + 2 * fall_random_sd``. The concept table
    (``uns["<key>"]["table"]``, hence ``concepts.csv``) gains these columns and ``uns["<key>"]["faithfulness"]``
    the shares (:func:`faithfulness_summary`).

    """
    from scconcepts.tl._concept_model import concept_model

    if params_key(key) not in adata.uns or activations_key(key) not in adata.obsm:
        raise InputError(f"no SAE run {key!r} in adata; run scconcepts.tl.train_sae first")
    if attribution_key(key) not in adata.varm:
        raise InputError(f"varm[{attribution_key(key)!r}] is missing: run scconcepts.tl.attribute first")
    for name, value in (("n_genes", n_genes), ("n_cells", n_cells), ("n_random", n_random)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise InputError(f"{name} must be a positive integer, not {value!r}")
    encoder, components = concept_model(adata, key, encoder, sae)
    activations = sp.csr_matrix(adata.obsm[activations_key(key)])
    ids = np.flatnonzero((activations > 0).getnnz(axis=0) > 0)
    source = _cells_read(adata, key, activations, n_cells, seed) if is_lazy(adata) else adata
    if source is not adata:
        activations = sp.csr_matrix(source.obsm[activations_key(key)])
    de = _de(source, key, activations, ids, layer)
    rows = adata.var_names.get_indexer(encoder.genes)
    columns = np.flatnonzero(rows >= 0)  # the model's genes the data hold: the only ones a set can take away
    score = np.asarray(adata.varm[attribution_key(key)])[rows[columns]]
    de = de[rows[columns]]
    sets = [
        {
            "attributed": columns[np.argsort(-score[:, k], kind="stable")[:n_genes]],
            "de": columns[np.argsort(-de[:, k], kind="stable")[:n_genes]],
        }
        for k in ids
    ]
    falls = deletion_falls(
        encoder, components, encoder.expression(source, layer=layer), activations, ids, sets,
        context=encoder.context(source), n_cells=int(n_cells), n_random=int(n_random), seed=seed,
        batch_size=batch_size,
    )  # fmt: skip
    frame = pd.DataFrame(np.nan, index=pd.RangeIndex(activations.shape[1], name="concept"), columns=list(COLUMNS[:4]))
    for k, fall in zip(ids, falls, strict=True):
        frame.loc[k] = [fall["attributed"], fall["de"], fall["random"], fall["random_sd"]]
    beats_de, beats_random = beats(frame)
    frame["faithful"] = beats_de & beats_random
    _write(adata, key, frame, n_genes=n_genes, n_cells=n_cells, n_random=n_random)
    return frame


def _cells_read(adata: AnnData, key: str, activations: sp.csr_matrix, n_cells: int, seed: int) -> AnnData:
    """A lazily read AnnData's cells needed here: every concept's top cells and a uniform sample (baselines)."""
    from scconcepts.attribution import select_cells
    from scconcepts.tl._lazy import SAMPLE_CELLS, _subset

    chosen = select_cells(activations, np.arange(activations.shape[1]), n_cells=n_cells, how="top")
    sample = np.random.default_rng(seed).choice(adata.n_obs, size=min(SAMPLE_CELLS, adata.n_obs), replace=False)
    rows = np.unique(np.concatenate([sample, *chosen]).astype(np.int64))
    logger.info("faithfulness on cells read lazily: %d cells; baselines are taken from them, not from all %d cells",
                rows.size, adata.n_obs)  # fmt: skip
    return _subset(adata, rows)


def _de(adata: AnnData, key: str, activations: sp.csr_matrix, ids: np.ndarray, layer: str | None) -> np.ndarray:
    """Genes x concepts DE scores: the run's (``varm["<key>_de"]``), or Wilcoxon z of active vs inactive cells."""
    if de_key(key) in adata.varm:
        return np.asarray(adata.varm[de_key(key)])
    de = np.zeros((adata.n_vars, activations.shape[1]), dtype=np.float32)
    de[:, ids] = wilcoxon_scores(log_normalised(adata, layer=layer), sp.csc_matrix(activations[:, ids] > 0))
    return de


def _write(adata: AnnData, key: str, frame: pd.DataFrame, **params: int) -> None:
    info = adata.uns[params_key(key)]
    table = info.get("table")
    if not isinstance(table, pd.DataFrame) or len(table) != len(frame):
        table = pd.DataFrame(index=[str(k) for k in frame.index])
    else:
        table = table.copy()
    for column in COLUMNS:
        table[column] = frame[column].to_numpy()
    info["table"] = table
    summary = faithfulness_summary(table)
    info["faithfulness"] = {**(summary or {"n_concepts": 0}), **{k: int(v) for k, v in params.items()}}
    if summary is None:
        logger.info("faithfulness: no concept has active cells; nothing measured")
        return
    logger.info(
        "faithfulness (%d concepts, top-%d genes set to baseline in %d top cells): attributed genes fall at least "
        "as far as DE genes for %.0f%% of concepts and beyond random (mean + %d sd) for %.0f%%; median falls "
        "attributed %.1f%%, DE %.1f%%, random %.1f%%",
        summary["n_concepts"], params["n_genes"], params["n_cells"], 100 * summary["share_beats_de"], N_SD,
        100 * summary["share_beats_random"], 100 * summary["median_fall_attributed"], 100 * summary["median_fall_de"],
        100 * summary["median_fall_random"],
    )  # fmt: skip
