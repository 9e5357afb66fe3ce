"""Enrichment of every concept's gene rankings against every gene-set source: one long table and its parameters.

The computational body of :func:`scconcepts.tl.enrich`, on matrices: the entry point reads them from the AnnData,
checks them and writes the table and parameters back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scconcepts.genesets._go import ensembl_to_symbol
from scconcepts.genesets._match import harmonise_genes
from scconcepts.genesets._resolve import load_source
from scconcepts.genesets._run import EnrichOptions, enrich_scores
from scconcepts.genesets._sets import GeneSets
from scconcepts.genesets._species import resolve_species

#: Each concept's genes in one direction of its scores (concepts x genes).
_SIGNED: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "positive": lambda s: s, "negative": lambda s: -s, "both": np.abs,
}  # fmt: skip


def ora_genes(
    scores: np.ndarray, padj: np.ndarray | None, *, gene_alpha: float, direction: str, n_top: int
) -> np.ndarray:
    """Concepts x genes: each concept's significant genes in the chosen direction (or its top ``n_top``)."""
    signed = _SIGNED[direction](scores)
    if padj is not None:
        return (np.nan_to_num(padj, nan=1.0) < gene_alpha) & (signed > 0)
    order = np.argsort(-signed, axis=1, kind="stable")[:, :n_top]
    out = np.zeros(scores.shape, dtype=bool)
    np.put_along_axis(out, order, True, axis=1)
    return out & (signed > 0)


def matched_top(scores: np.ndarray, counts: np.ndarray, direction: str) -> np.ndarray:
    """Each concept's top genes of ``scores`` in number ``counts`` (DE ORA matched to attribution ORA)."""
    signed = _SIGNED[direction](scores)
    order = np.argsort(-signed, axis=1, kind="stable")
    out = np.zeros(scores.shape, dtype=bool)
    for c, n in enumerate(counts):
        out[c, order[c, :n]] = True
    return out & (signed > 0)


def enrich_concepts(
    rankings: Mapping[str, np.ndarray],
    genes: Sequence[str],
    concepts: Sequence[int],
    sources: Sequence[str | Path | GeneSets],
    opts: EnrichOptions,
    *,
    var: pd.DataFrame | None = None,
    gene_symbols: str | None = None,
    species: str | None = "auto",
    go_db: str | Path | None = None,
    padj: np.ndarray | None = None,
    gene_alpha: float = 0.05,
    direction: str = "positive",
    n_top: int = 100,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Enrich each ranking of each concept against each source (:func:`~scconcepts.genesets.enrich_scores`).

    Parameters
    ----------
    rankings
        Ranking name (``"attribution"``, ``"de"``) -> genes x concepts scores; NaN counts as 0.
    genes
        The rows' gene names (the background).
    concepts
        The columns' concept ids.
    sources
        Gene-set sources (:func:`~scconcepts.genesets.load_source`), each matched to ``genes``
        (:func:`~scconcepts.genesets.harmonise_genes`).
    opts
        Method and thresholds shared by every source and ranking.
    var, gene_symbols
        The genes' ``var`` rows and its column of gene symbols (default: the best-matching identifiers are found).
    go_db
        Folder of the GO SQLite files (GO sources; Ensembl identifiers to symbols).
    species
        ``"auto"``, ``"human"`` or ``"mouse"`` (:func:`~scconcepts.genesets._species.resolve_species`).
    padj, gene_alpha, direction, n_top
        How ``ora`` picks each concept's genes in the attribution ranking: ``padj`` (genes x concepts) below
        ``gene_alpha`` in ``direction``, or without ``padj`` the top ``n_top``; the DE ranking then takes as many
        top genes per concept as the attribution did.

    Returns
    -------
    The long table (one row per concept, ranking, source and term; by concept, ranking, source and p-value) and the
    run's parameters (``uns[<key>]["enrichment_params"]``).

    """
    species = resolve_species(species, list(genes), var=var, gene_symbols=gene_symbols)
    names = list(genes)
    frames, searched = [], []
    attribution_counts = None
    for spec in sources:
        sets = load_source(spec, go_db=go_db)
        searched.append(sets.source)
        keys = harmonise_genes(names, sets, var=var, gene_symbols=gene_symbols, species=species,
                               ensembl_to_symbol=lambda: ensembl_to_symbol(go_db))  # fmt: skip
        for ranking, matrix in rankings.items():
            scores = np.nan_to_num(matrix.T)
            selected = None
            if opts.method == "ora":
                if ranking == "attribution" or attribution_counts is None:
                    pad = padj.T if padj is not None and ranking == "attribution" else None
                    selected = ora_genes(scores, pad, gene_alpha=gene_alpha, direction=direction, n_top=n_top)
                    if ranking == "attribution":
                        attribution_counts = selected.sum(axis=1)
                else:
                    selected = matched_top(scores, attribution_counts, direction)
            frame = enrich_scores(scores, sets, gene_keys=keys, gene_names=names, concepts=list(concepts), opts=opts,
                                  selected=selected)  # fmt: skip
            frame.insert(1, "ranking", ranking)
            frames.append(frame)
    # empty frames would turn the integer columns into objects, which an .h5ad cannot store
    frames = [frame for frame in frames if len(frame)] or frames[:1]
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if len(table):
        table = table.sort_values(["concept", "ranking", "source", "pval"], kind="stable", ignore_index=True)
    params = {"sources": searched, "method": opts.method, "transform": opts.transform,
              "rankings": list(rankings), "min_size": opts.min_size, "max_size": opts.max_size, "alpha": opts.alpha,
              "elim": opts.elim, "elim_cutoff": opts.elim_cutoff, "collapse": opts.collapse, "fdr": opts.fdr,
              "n_background": len(names), "n_concepts": len(concepts), "concepts": list(concepts),
              "species": species}  # fmt: skip
    return table, params
