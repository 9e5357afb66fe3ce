"""Per-concept preranked GSEA with gseapy (multilevel p-values by default) and leading-edge genes."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)


def prerank(
    scores: np.ndarray,
    gene_names: Sequence[str],
    sets: Mapping[str, Sequence[str]],
    *,
    method: str = "multilevel",
    permutation_num: int = 1000,
    seed: int = 0,
    threads: int = 1,
) -> pd.DataFrame:
    """Run gseapy's ``prerank`` on one concept's gene scores.

    Parameters
    ----------
    scores
        The concept's score of each background gene.
    gene_names
        Unique names of the background genes (members of ``sets`` use these names).
    sets
        ``{term_id: member names}``, already restricted to the background and size-filtered.
    method
        ``"multilevel"`` (fast, accurate small p-values) or ``"permutation"`` (classic GSEA).
    permutation_num, seed, threads
        Passed to gseapy.

    Returns
    -------
    One row per term: ``term_id``, ``score`` (NES), ``es``, ``pval``, ``leading_edge`` (";"-joined).

    """
    import gseapy

    ranking = pd.Series(np.asarray(scores, dtype=np.float64), index=list(gene_names))
    sizes = [len(genes) for genes in sets.values()]
    result = gseapy.prerank(
        rnk=ranking,
        gene_sets={term: list(genes) for term, genes in sets.items()},
        method=method,
        permutation_num=permutation_num,
        min_size=min(sizes),
        max_size=max(sizes),
        seed=seed,
        threads=threads,
        outdir=None,
        no_plot=True,
        verbose=False,
    ).res2d
    return pd.DataFrame(
        {
            "term_id": result["Term"].astype(str).to_numpy(),
            "score": result["NES"].astype(float).to_numpy(),
            "es": result["ES"].astype(float).to_numpy(),
            "pval": result["NOM p-val"].astype(float).to_numpy(),
            "leading_edge": result["Lead_genes"].astype(str).to_numpy(),
        }
    )
