"""Enrichment of many concepts' gene scores against one gene-set source, as a long table."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scconcepts._errors import InputError
from scconcepts._progress import progress
from scconcepts.genesets._collapse import collapse
from scconcepts.genesets._dag import kept_ancestors, term_depths
from scconcepts.genesets._elim import elim, set_rows
from scconcepts.genesets._gsea import prerank
from scconcepts.genesets._ora import ora, ora_one
from scconcepts.genesets._sets import DEFAULT_MAX_SIZE, DEFAULT_MIN_SIZE, GeneSets
from scconcepts.genesets._ulm import UlmState, ulm, ulm_one
from scconcepts.stats._multiple_testing import bh, bh_rows
from scconcepts.stats._ranks import normal_scores

logger = logging.getLogger(__name__)

METHODS = ("ulm", "ora", "gsea")
#: How ``ulm`` sees the scores: ``rank``: normal scores of each concept's ranks (calibrated under heavy
#: tails, see :func:`scconcepts.stats.normal_scores`); ``none``: as given.
TRANSFORMS = ("rank", "none")
COLUMNS = ["concept", "source", "method", "term_id", "term", "size", "depth", "score", "pval", "padj", "pval_elim",
           "elim", "duplicate_of", "genes"]  # fmt: skip


@dataclass(frozen=True)
class EnrichOptions:
    """Options shared by every source and ranking of one enrichment run (see ``scconcepts.tl.enrich``)."""

    method: str = "ulm"
    transform: str = "rank"
    min_size: int = DEFAULT_MIN_SIZE
    max_size: int = DEFAULT_MAX_SIZE
    alpha: float = 0.05
    max_padj: float = 0.25
    fdr: str = "concept"
    elim: bool = True
    elim_cutoff: float = 0.01
    collapse: float = 0.7
    n_genes: int = 10
    gsea_method: str = "multilevel"
    permutation_num: int = 1000
    seed: int = 0
    threads: int = 1

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise InputError(f"unknown enrichment method {self.method!r}; choose one of {', '.join(METHODS)}")
        if self.transform not in TRANSFORMS:
            raise InputError(f"transform={self.transform!r}: choose 'rank' (normal scores of the ranks) or 'none'")
        if self.fdr not in ("concept", "source"):
            raise InputError(f"fdr={self.fdr!r}: choose 'concept' (BH per concept and source) or 'source'")
        if not (0 < self.alpha < 1 and 0 < self.max_padj <= 1 and 0 < self.elim_cutoff < 1):
            raise InputError("alpha, elim_cutoff must lie in (0, 1) and max_padj in (0, 1]")


def _stats(scores, selected, rows, membership, sets, kept, gene_names, opts):
    """Return score, p-value and retest function (None for GSEA) and leading edges."""
    if opts.method == "ulm":
        state = UlmState.of(scores)
        score, pval = ulm(state, membership)

        def retest(c: int, j: int, genes: np.ndarray) -> float:
            t, p = ulm_one(state, c, genes)
            return p if t * score[c, j] > 0 else 1.0  # elim keeps a term only in its own direction

        return score, pval, retest, None
    if opts.method == "ora":
        score, pval = ora(selected, membership)
        return score, pval, lambda c, _j, genes: ora_one(selected, c, genes)[1], None
    ids = [sets.term_ids[k] for k in kept]
    named = {ids[j]: [gene_names[r] for r in rows[j]] for j in range(len(ids))}
    column = {term: j for j, term in enumerate(ids)}
    score = np.full((scores.shape[0], len(ids)), np.nan)
    pval = np.full_like(score, np.nan)
    edges: dict[tuple[int, int], str] = {}
    for c in progress(range(scores.shape[0]), desc=f"GSEA {sets.source}", leave=False):
        result = prerank(scores[c], gene_names, named, method=opts.gsea_method, permutation_num=opts.permutation_num,
                         seed=opts.seed, threads=opts.threads)  # fmt: skip
        j = result["term_id"].map(column).to_numpy()
        score[c, j], pval[c, j] = result["score"].to_numpy(), result["pval"].to_numpy()
        edges.update({(c, jj): lead for jj, lead in zip(j, result["leading_edge"], strict=True)})
    return score, pval, None, edges


def _genes(c, j, score, scores, selected, rows, gene_names, edges, opts) -> str:
    members = rows[j]
    if edges is not None:
        return ";".join(edges.get((c, j), "").split(";")[: opts.n_genes])
    values = scores[c, members]
    if opts.method == "ora":
        members = members[np.asarray(selected[c, members], dtype=bool)]
        values = scores[c, members]
        order = np.argsort(-np.abs(values), kind="stable")
    else:
        sign = 1.0 if score >= 0 else -1.0
        keep = values * sign > 0
        members, values = members[keep], values[keep]
        order = np.argsort(-values * sign, kind="stable")
    return ";".join(gene_names[r] for r in members[order][: opts.n_genes])


def enrich_scores(
    scores: np.ndarray,
    sets: GeneSets,
    *,
    gene_keys: Sequence[str],
    gene_names: Sequence[str],
    concepts: Sequence[int],
    opts: EnrichOptions,
    selected: np.ndarray | None = None,
) -> pd.DataFrame:
    """Enrich every concept's gene scores against one source and return the long table.

    Parameters
    ----------
    scores
        Concepts x background genes (signed scores; no missing values).
    sets
        The gene sets.
    gene_keys
        Normalised identifier of each background gene, matched against the sets' members.
    gene_names
        Unique name of each background gene (reported in ``genes``).
    concepts
        Concept id of each row of ``scores``.
    opts
        Method and thresholds.
    selected
        Concepts x genes booleans: each concept's significant genes (needed by ``ora``).

    Returns
    -------
    Rows with ``padj <= opts.max_padj``: concept, source, method, term_id, term, size, depth (longest path
    to a root of the ontology, NaN without a DAG), score, pval,
    padj, pval_elim (NaN where no DAG or for GSEA), elim (significant and not explained by a
    descendant), duplicate_of (representative term id among near-duplicates, "" for itself), genes.

    """
    gene_names = list(gene_names)
    membership, kept = sets.membership(gene_keys, min_size=opts.min_size, max_size=opts.max_size)
    if kept.size == 0:
        logger.warning("%s: no term has %d-%d genes in the background; skipped", sets.source, opts.min_size,
                       opts.max_size)  # fmt: skip
        return pd.DataFrame(columns=COLUMNS)
    if opts.method == "ora" and selected is None:
        raise InputError("ora needs each concept's significant genes; pass selected=")
    rows = set_rows(membership)
    if opts.method == "ulm" and opts.transform == "rank":
        scores = normal_scores(scores, axis=1)
    score, pval, retest, edges = _stats(scores, selected, rows, membership, sets, kept, gene_names, opts)
    padj = bh_rows(pval) if opts.fdr == "concept" else bh(pval)
    ids = [sets.term_ids[k] for k in kept]
    with_dag = opts.elim and sets.has_dag and retest is not None
    depths = term_depths(sets.parents, ids) if sets.has_dag else np.full(len(ids), np.nan)
    if with_dag:
        ancestors = kept_ancestors(sets.parents, ids)
        pval_elim = elim(pval, rows, ancestors, depths, retest, cutoff=opts.elim_cutoff)
    else:
        pval_elim = np.full_like(pval, np.nan)
    logger.info("%s %s: %d concepts x %d terms (%d-%d genes)", opts.method, sets.source, len(concepts), len(ids),
                opts.min_size, opts.max_size)  # fmt: skip
    records = []
    for c, concept in enumerate(concepts):
        hits = np.flatnonzero(padj[c] <= opts.max_padj)
        hits = hits[np.argsort(pval[c, hits], kind="stable")]
        survives = (padj[c] < opts.alpha) & (pval_elim[c] < opts.elim_cutoff if with_dag else True)
        # near-duplicates collapse into the best term, preferring terms that elim keeps
        significant = sorted((j for j in hits if padj[c, j] < opts.alpha), key=lambda j: (not survives[j], pval[c, j]))
        representative = collapse(significant, rows, threshold=opts.collapse) if opts.collapse < 1 else {}
        for j in hits:
            kept_by_elim = bool(survives[j])
            rep = representative.get(j, j)
            records.append((int(concept), sets.source, opts.method, ids[j], sets.names[kept[j]], len(rows[j]),
                            float(depths[j]), float(score[c, j]), float(pval[c, j]), float(padj[c, j]),
                            float(pval_elim[c, j]),
                            bool(kept_by_elim), ids[rep] if rep != j else "",
                            _genes(c, j, score[c, j], scores, selected, rows, gene_names, edges, opts)))  # fmt: skip
    return pd.DataFrame.from_records(records, columns=COLUMNS)
