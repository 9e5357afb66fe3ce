"""``tl.explanation_score``: how well each concept's explanation (a gene set) predicts it in held-out cells."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from anndata import AnnData

from scconcepts._errors import InputError
from scconcepts._keys import activations_key, attribution_key, params_key
from scconcepts.ds._lazy import is_lazy
from scconcepts.evaluation._explanation import (
    N_GENES,
    N_NULL,
    explanation_scores,
    log_normalise,
    specific_genes,
    summarise_explanation,
    top_genes_by_score,
)
from scconcepts.tl._lazy import SAMPLE_CELLS, _subset

logger = logging.getLogger(__name__)

#: Columns written into the concept table.
COLUMNS = ("explanation_auroc", "explanation_spearman", "explanation_auroc_chance", "explanation_spearman_chance")


def log_expression(adata: AnnData, *, layer: str | None = None) -> sp.csr_matrix:
    """Log-normalised expression of ``adata``: counts are normalised and logged, other values taken as they are.

    Raises :class:`~scconcepts._errors.InputError` when the matrix holds no expression (no non-zero value).
    """
    values = adata.X if layer is None else adata.layers[layer]
    x = sp.csr_matrix(values, dtype=np.float32)
    if x.nnz == 0:
        raise InputError("the expression matrix holds no non-zero value; an explanation score needs expression")
    is_counts = bool(np.all(x.data >= 0) and np.allclose(x.data, np.round(x.data)))
    return log_normalise(x) if is_counts else x


def held_out_rows(adata: AnnData, key: str) -> tuple[np.ndarray, np.ndarray, str]:
    """Rows the SAE run ``key`` saw and rows it held out for testing, and which cells those are.

    The held-out rows are the run's ``test_cells``, which neither training nor early stopping saw. Runs
    written before the test split existed hold only ``val_cells`` (early stopping chose the epoch on
    them); those are used then, with a warning. Returns ``(seen_rows, held_out_rows, "test" or "val")``.
    """
    info = adata.uns[params_key(key)]
    split = "test" if "test_cells" in info else "val"
    if f"{split}_cells" not in info:
        raise InputError("the SAE run has no held-out cells (uns[...]['test_cells']); rerun scconcepts.tl.train_sae")
    if split == "val":
        logger.warning(
            "the SAE run has no test cells (written before the test split); scoring on its validation cells, "
            "which early stopping saw"
        )
    rows = adata.obs_names.get_indexer(np.asarray(info[f"{split}_cells"]).astype(str))
    if (rows < 0).any():
        raise InputError("some held-out cells of the SAE run are not in adata; use the object the SAE was trained on")
    return np.setdiff1d(np.arange(adata.n_obs), rows), np.sort(rows), split


def explanation_score(
    adata: AnnData,
    *,
    key: str = "concepts",
    source: str = "auto",
    n_genes: int = N_GENES,
    n_null: int = N_NULL,
    layer: str | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Score every concept's explanation on the run's held-out cells and add the scores to the concept table.

    A concept's explanation is its ``n_genes`` top genes: by attribution
    (``varm["<key>_attribution"]``, the specific score) or, with ``source="de"``, by a Welch t of its
    top training cells against the other cells. The run's test cells (``uns[key]["test_cells"]``,
    which neither training nor early stopping saw; ``val_cells`` for runs older than the test split)
    are scored with that gene set alone (mean log-normalised expression minus expression-matched
    control genes) and the score is compared with the concept's activation: AUROC of the concept's
    top held-out cells against the rest, and Spearman over all held-out cells. Random gene sets of
    the same size give the chance level (AUROC 0.5, Spearman 0).

    Parameters
    ----------
    adata
        Cells with counts (or log-normalised values) in ``X`` or ``layer`` and the SAE run ``key``.
    key
        Stem of the concept keys.
    source
        ``"attribution"``, ``"de"`` or ``"auto"`` (attribution when the run has one).
    n_genes
        Genes in each explanation.
    n_null
        Random gene sets per concept.
    layer
        Layer holding the expression; ``None`` uses ``X``.
    seed
        Seed of the random and control gene sets.

    Returns
    -------
    Per concept ``n_genes``, ``auroc``, ``spearman``, ``auroc_chance``, ``spearman_chance``;
    the concept table gains ``explanation_auroc``, ``explanation_spearman`` and their ``_chance``
    columns, and ``uns[key]["explanation"]`` the summary (means over scored concepts, source, ``held_out``:
    ``"test"`` or ``"val"``, ``n_held_out``).

    """
    if params_key(key) not in adata.uns or activations_key(key) not in adata.obsm:
        raise InputError(f"no SAE run {key!r} in adata; run scconcepts.tl.train_sae first")
    if source not in ("auto", "attribution", "de"):
        raise InputError(f"source must be 'auto', 'attribution' or 'de', got {source!r}")
    if source == "auto":
        source = "attribution" if attribution_key(key) in adata.varm else "de"
    if source == "attribution" and attribution_key(key) not in adata.varm:
        raise InputError(f"varm[{attribution_key(key)!r}] not found; run scconcepts.tl.attribute or use source='de'")
    if is_lazy(adata):  # matrix on disk: read the held-out cells only (see _explanation_lazy)
        return _explanation_lazy(adata, key=key, source=source, n_genes=n_genes, n_null=n_null, layer=layer, seed=seed)
    train_rows, test_rows, split = held_out_rows(adata, key)
    expression = log_expression(adata, layer=layer)
    activations = adata.obsm[activations_key(key)]
    if source == "attribution":
        gene_sets = top_genes_by_score(np.asarray(adata.varm[attribution_key(key)]), n_genes=n_genes)
    else:
        dense = activations.toarray() if sp.issparse(activations) else np.asarray(activations)
        gene_sets = specific_genes(expression, dense, train_rows, n_genes=n_genes)
    frame = explanation_scores(expression, activations, gene_sets, test_rows, n_null=n_null, seed=seed)
    info = adata.uns[params_key(key)]
    table = info["table"]
    frame.index = table.index[: len(frame)]
    for column in COLUMNS:
        table[column] = frame[column.removeprefix("explanation_")].to_numpy()
    summary = {
        **summarise_explanation(frame),
        "source": source,
        "n_genes": int(n_genes),
        "held_out": split,
        "n_held_out": len(test_rows),
    }
    info["explanation"] = summary
    logger.info(
        "explanation score (%s genes, %d %s cells): AUROC %.3f (random sets %.3f), Spearman %.3f (%.3f)",
        source,
        len(test_rows),
        split,
        summary["explanation_auroc"],
        summary["explanation_auroc_chance"],
        summary["explanation_spearman"],
        summary["explanation_spearman_chance"],
    )
    return frame


def _explanation_lazy(adata: AnnData, *, key: str, seed: int = 0, **options: Any) -> pd.DataFrame:
    """:func:`scconcepts.tl.explanation_score` on a lazily read AnnData, reading the held-out cells only.

    With ``source="de"`` a sample of :data:`SAMPLE_CELLS` training cells is read as well.
    """
    train_rows, test_rows, _ = held_out_rows(adata, key)
    rng = np.random.default_rng(seed)
    train_sample = rng.choice(train_rows, size=min(SAMPLE_CELLS, train_rows.size), replace=False)
    rows = np.union1d(test_rows, train_sample if options.get("source") == "de" else train_sample[:0])
    sub = _subset(adata, rows, uns={params_key(key): adata.uns[params_key(key)]})
    frame = explanation_score(sub, key=key, seed=seed, **options)
    adata.uns[params_key(key)] = sub.uns[params_key(key)]
    return frame
