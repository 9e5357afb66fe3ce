"""``scconcepts.tl.check_genes``: can enrichment match the data's genes? Asked before any training."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from anndata import AnnData

from scconcepts.genesets import MIN_MATCH_RATE, GeneMatch, GeneSets, load_source, match_genes
from scconcepts.genesets._go import ensembl_to_symbol
from scconcepts.genesets._species import AUTO, resolve_species

logger = logging.getLogger(__name__)


def check_genes(
    adata: AnnData,
    *,
    sources: Sequence[str | Path | GeneSets] | str | Path | GeneSets = "auto",
    gene_symbols: str | None = None,
    species: str | None = AUTO,
    go_db: str | Path | None = None,
    min_rate: float = MIN_MATCH_RATE,
) -> list[GeneMatch]:
    """Say, before any training, whether the data's genes can be matched to the gene sets.

    Placeholder names (``gene0``, ``gene1``...), identifiers the sets do not use, or mouse symbols
    against human sets would make enrichment fail (or mean nothing) only after attribution. This
    check logs the match rate of every source; a match that is not usable is logged as a warning
    with what to pass (``gene_symbols``, ``species``). :func:`scconcepts.tl.enrich` refuses the
    same cases.

    Parameters
    ----------
    adata
        The cells (``var_names`` and ``var`` columns are read).
    sources
        Gene-set sources as for :func:`scconcepts.tl.enrich`.
    gene_symbols
        ``var`` column holding gene symbols.
    species
        ``"human"`` or ``"mouse"`` (mouse symbols matched to human sets by case-insensitive symbol,
        an approximation of orthology); ``"auto"`` (default) takes mouse-style symbols (``Cd3e``) as
        mouse and says so in one log line, anything else as human
        (:func:`~scconcepts.genesets._species.resolve_species`).
    go_db
        Folder of the GO SQLite files.
    min_rate
        Share of the data's genes that must be found in the sets.

    Returns
    -------
    One :class:`~scconcepts.genesets.GeneMatch` per source (``usable``, ``rate``, ``reason``).

    """
    if isinstance(sources, str | Path | GeneSets):
        sources = [sources]
    species = resolve_species(species, adata.var_names, var=adata.var, gene_symbols=gene_symbols)
    matches = []
    for spec in sources:
        sets = load_source(spec, go_db=go_db)
        match = match_genes(list(adata.var_names), sets, var=adata.var, gene_symbols=gene_symbols, species=species,
                            ensembl_to_symbol=lambda: ensembl_to_symbol(go_db), min_rate=min_rate)  # fmt: skip
        if match.usable:
            logger.info("gene names: %s", match.summary())
        else:
            logger.warning("gene names: %s", match.reason)
        matches.append(match)
    return matches
