"""A concept's terms, defined once, and the coverage figures every display prints.

The long enrichment table holds every tested term with ``padj <= max_padj``, for the attribution
and DE rankings, in both directions. What a user reads as "the concept's terms" (catalogue, cards,
labels, the log, ``info``, ``metrics.json``) is a subset of it, chosen by :func:`concept_terms` alone;
:func:`term_coverage` counts the concepts that have one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

Direction = Literal["positive", "negative", "both"]

#: Columns of :func:`concept_terms`' result.
TERM_COLUMNS = ["concept", "source", "term_id", "term", "ranking", "sign", "score", "pval", "padj", "depth", "genes"]
ENRICHED, DEPLETED = "enriched", "depleted"


def term_signs(table: pd.DataFrame) -> np.ndarray:
    """Return ``+1`` (enriched among the concept's high scores) or ``-1`` (depleted) for each row.

    ``ulm`` and GSEA scores are signed statistics; an ORA score is a fold enrichment of the concept's
    selected genes, so above 1 is enriched.
    """
    score = pd.to_numeric(table["score"], errors="coerce").to_numpy(dtype=np.float64)
    method = table["method"].astype(str).to_numpy() if "method" in table else np.full(len(table), "ulm")
    centre = np.where(method == "ora", 1.0, 0.0)
    return np.where(np.nan_to_num(score - centre) > 0, 1, -1)


def significant_rows(
    table: pd.DataFrame,
    *,
    rankings: Sequence[str] = ("attribution",),
    direction: Direction = "positive",
    alpha: float = 0.05,
    elim: bool = True,
) -> pd.DataFrame:
    """Rows of the enrichment table that count as terms (before removing duplicates), with a ``sign`` column.

    A row counts when its ranking is one of ``rankings``, ``padj < alpha``, its sign agrees with
    ``direction`` and, with ``elim``, the ``elim`` pass kept it (a more specific significant term does
    not explain it; for sources without a DAG this equals significance).
    """
    if not len(table):
        return table.assign(sign=pd.Series(dtype=str))
    rows = table[table["ranking"].isin(list(rankings))] if "ranking" in table else table
    rows = rows[pd.to_numeric(rows["padj"], errors="coerce") < alpha]
    if elim and "elim" in rows:
        rows = rows[rows["elim"].astype(bool)]
    signs = term_signs(rows)
    wanted = {"positive": signs > 0, "negative": signs < 0, "both": np.ones(len(rows), dtype=bool)}[direction]
    rows = rows[wanted].copy()
    rows["sign"] = np.where(signs[wanted] > 0, ENRICHED, DEPLETED)
    return rows


def concept_terms(
    table: pd.DataFrame,
    *,
    rankings: Sequence[str] = ("attribution",),
    direction: Direction = "positive",
    alpha: float = 0.05,
    elim: bool = True,
    sources: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Return each concept's terms: the one definition every display of "terms" uses.

    By default a concept's terms are the GO (or other source) terms enriched (positive direction)
    in its **attribution** ranking at FDR < ``alpha`` and kept by ``elim``, near-duplicates removed
    (a term whose genes repeat a better term's, ``duplicate_of``), each term once. When several
    rankings are asked for, a term found by more than one is listed once, its ``ranking`` naming all
    of them (e.g. ``"attribution+de"``) and its statistics from the first ranking of ``rankings``.

    Parameters
    ----------
    table
        The long enrichment table (``uns["<key>_enrichment"]`` / ``enrichment.csv``).
    rankings
        Rankings whose terms count, in order of preference.
    direction
        ``"positive"``: terms enriched among the concept's high scores; ``"negative"``: depleted;
        ``"both"``.
    alpha
        FDR threshold on ``padj``.
    elim
        Keep only terms the ``elim`` pass kept.
    sources
        Sources that count (default all).

    Returns
    -------
    A frame with columns :data:`TERM_COLUMNS` (``sign`` is ``"enriched"`` or ``"depleted"``;
    ``depth`` the term's depth in the ontology, NaN without a DAG), sorted by concept then p-value.

    """
    rows = significant_rows(table, rankings=rankings, direction=direction, alpha=alpha, elim=elim)
    if sources is not None:
        rows = rows[rows["source"].isin(list(sources))]
    if "duplicate_of" in rows:
        rows = rows[rows["duplicate_of"].fillna("").astype(str) == ""]
    if not len(rows):
        return pd.DataFrame(columns=TERM_COLUMNS)
    rows = rows.copy()
    for column, default in (("depth", np.nan), ("genes", ""), ("ranking", rankings[0]), ("pval", np.nan)):
        if column not in rows:
            rows[column] = default
    rows["concept"] = rows["concept"].astype(int)
    preference = {name: i for i, name in enumerate(rankings)}
    rows["_pref"] = rows["ranking"].map(preference)
    rows = rows.sort_values(["concept", "source", "term_id", "_pref"], kind="stable")
    found_by = rows.groupby(["concept", "source", "term_id"], sort=False)["ranking"].transform(
        lambda r: "+".join(dict.fromkeys(r))
    )
    rows["ranking"] = found_by
    rows = rows.drop_duplicates(["concept", "source", "term_id"], keep="first")
    rows = rows.sort_values(["concept", "pval", "padj"], kind="stable", ignore_index=True)
    return rows[TERM_COLUMNS]


def term_coverage(
    table: pd.DataFrame,
    concepts: Sequence[int] | int,
    *,
    sources: Sequence[str] = (),
    alpha: float = 0.05,
    **options: Any,
) -> dict[str, Any]:
    """Return how many concepts have a term (per :func:`concept_terms`).

    This is the figure the log, ``scconcepts info``, the report and ``metrics.json`` print.

    Parameters
    ----------
    table
        The long enrichment table.
    concepts
        The concepts that were enriched (ids, or their number): the denominator.
    sources
        Sources that were searched (a searched source without hits counts 0).
    alpha
        FDR threshold.
    **options
        Passed to :func:`concept_terms` (``rankings``, ``direction``, ``elim``).

    Returns
    -------
    ``{"n_concepts", "n_with_term", "share_with_term", "by_source": {source: share}, "definition"}``.

    """
    n = concepts if isinstance(concepts, int) else len(set(concepts))
    terms = concept_terms(table, alpha=alpha, **options)
    if not isinstance(concepts, int):
        terms = terms[terms["concept"].isin({int(c) for c in concepts})]
    by_source = dict.fromkeys((str(s) for s in sources), 0.0)
    for source, group in terms.groupby("source"):
        by_source[str(source)] = group["concept"].nunique() / max(n, 1)
    n_with = int(terms["concept"].nunique())
    return {
        "n_concepts": int(n),
        "n_with_term": n_with,
        "share_with_term": n_with / max(n, 1),
        "by_source": by_source,
        "definition": describe_terms(alpha=alpha, **options),
    }


def describe_terms(
    *,
    rankings: Sequence[str] = ("attribution",),
    direction: Direction = "positive",
    alpha: float = 0.05,
    elim: bool = True,
) -> str:
    """Say in words what counts as a term (printed beside every coverage figure)."""
    sign = {"positive": "enriched", "negative": "depleted", "both": "enriched or depleted"}[direction]
    parts = [f"{sign} in the {' or '.join(rankings)} ranking", f"FDR < {alpha:g}"]
    if elim:
        parts.append("kept by elim")
    return ", ".join(parts)


def coverage_line(coverage: dict[str, Any]) -> str:
    """One line for logs and ``info``: ``"31 of 40 concepts (78%) have a term (enriched in ...)"``."""
    return (
        f"{coverage['n_with_term']} of {coverage['n_concepts']} concepts ({coverage['share_with_term']:.0%}) "
        f"have a term ({coverage['definition']})"
    )
