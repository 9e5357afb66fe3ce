"""A results folder's enrichment table as the explorer shows it: the columns it needs, each concept's terms, rows."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from scconcepts.genesets._terms import DEPLETED, ENRICHED, concept_terms, term_coverage, term_signs

#: The columns of a concept's enrichment rows, in the order the concept page shows them.
ROW_COLUMNS = ["source", "term", "term_id", "ranking", "sign", "score", "pval", "padj", "method", "elim", "is_term"]


def read_enrichment(frame: pd.DataFrame) -> pd.DataFrame:
    """``uns[<key>_enrichment]`` with every column the explorer reads (defaults where missing), by concept and padj."""
    frame = frame.copy()
    frame["concept"] = frame["concept"].astype(int)
    for col in ("source", "term", "term_id", "method"):
        if col not in frame:
            frame[col] = ""
    for col in ("score", "pval", "padj"):
        if col not in frame:
            frame[col] = np.nan
    frame["elim"] = frame["elim"].astype(bool) if "elim" in frame else True
    if "ranking" not in frame:
        frame["ranking"] = "attribution"
    return frame.sort_values(["concept", "padj"], kind="stable")


def all_terms(enrichment: pd.DataFrame | None) -> pd.DataFrame:
    """Every concept's terms, best first (:func:`~scconcepts.genesets.concept_terms`; empty without enrichment)."""
    if enrichment is None:
        return concept_terms(pd.DataFrame(columns=["concept", "ranking", "padj", "score", "elim"]))
    return concept_terms(enrichment)


def coverage(enrichment: pd.DataFrame, params: dict[str, Any]) -> dict[str, Any]:
    """How many enriched concepts have a term, from the enrichment and its ``enrichment_params``."""
    concepts = params.get("concepts")
    if concepts is None:
        concepts = int(params.get("n_concepts", 0)) or int(enrichment["concept"].nunique())
    else:
        concepts = [int(c) for c in np.asarray(concepts).ravel()]
    sources = [str(s) for s in params.get("sources", [])]
    return term_coverage(enrichment, concepts, sources=sources)


def concept_rows(enrichment: pd.DataFrame, terms: pd.DataFrame, cid: int, limit: int) -> pd.DataFrame:
    """The first ``limit`` enrichment rows of concept ``cid`` in :data:`ROW_COLUMNS`.

    Each row has its sign (enriched / depleted) and ``is_term``: whether it counts as one of the concept's ``terms``.
    """
    rows = enrichment[enrichment["concept"] == cid].head(limit)
    rows = rows.assign(sign=np.where(term_signs(rows) > 0, ENRICHED, DEPLETED))
    terms = terms[terms["concept"] == cid]
    first = [r.split("+")[0] for r in terms["ranking"]]
    term_rows = set(zip(terms["source"], terms["term_id"], first, strict=True))
    keys = zip(rows["source"], rows["term_id"], rows["ranking"], strict=True)
    rows = rows.assign(is_term=[key in term_rows for key in keys])
    return rows[ROW_COLUMNS]
