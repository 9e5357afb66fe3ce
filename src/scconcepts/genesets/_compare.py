"""Terms found from the attribution ranking vs from the differential-expression ranking, per concept."""

from __future__ import annotations

from typing import Any

import pandas as pd

ATTRIBUTION = "attribution"
DE = "de"


def compare_rankings(table: pd.DataFrame, *, alpha: float = 0.05, elim: bool = False) -> dict[str, Any]:
    """Split each concept's significant terms into found by both rankings, attribution only, DE only.

    Parameters
    ----------
    table
        The long enrichment table with a ``ranking`` column (``attribution`` / ``de``).
    alpha
        FDR threshold on ``padj``.
    elim
        Count only terms kept by ``elim`` (``elim`` column) instead of all significant ones.

    Returns
    -------
    ``{"alpha", "elim", "totals": {"both", "attribution_only", "de_only", "concepts"}, "by_source": {source:
    totals}, "per_concept": {concept: {"both": [term ids], "attribution_only": [...], "de_only": [...]}}}``.
    Terms are keyed by ``source:term_id``; concepts enriched with only one ranking still count.

    """
    hits = table[(table["padj"] < alpha) & (table["elim"] if elim else True)]
    found: dict[tuple[int, str], set[str]] = {}
    for (concept, ranking), group in hits.groupby(["concept", "ranking"], sort=True):
        found[(int(concept), ranking)] = set(group["source"] + ":" + group["term_id"])
    concepts = sorted({int(c) for c in table["concept"]}) if len(table) else []
    per_concept: dict[int, dict[str, list[str]]] = {}
    by_source: dict[str, dict[str, int]] = {}
    for concept in concepts:
        attribution, de = found.get((concept, ATTRIBUTION), set()), found.get((concept, DE), set())
        split = {"both": attribution & de, "attribution_only": attribution - de, "de_only": de - attribution}
        per_concept[concept] = {name: sorted(terms) for name, terms in split.items()}
        for name, terms in split.items():
            for term in terms:
                source = term.split(":", 1)[0]
                by_source.setdefault(source, {"both": 0, "attribution_only": 0, "de_only": 0})[name] += 1
    totals = {
        name: sum(counts[name] for counts in by_source.values()) for name in ("both", "attribution_only", "de_only")
    }
    totals["concepts"] = len(concepts)
    return {"alpha": alpha, "elim": elim, "totals": totals, "by_source": by_source, "per_concept": per_concept}
