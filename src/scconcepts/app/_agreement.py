"""Agreement between the expert's labels and the automatic labels of the concept table."""

from __future__ import annotations

import re
from typing import Any

#: Words that carry no meaning in a concept label.
STOPWORDS = frozenset({"a", "an", "and", "the", "of", "in", "cell", "cells", "concept", "like", "type", "program"})
#: Token overlap (Jaccard) from which two labels are counted as agreeing.
AGREE_AT = 0.5


def tokens(label: str) -> frozenset[str]:
    """Lower-cased word tokens of a label, without stopwords and trailing plural ``s``."""
    words = re.findall(r"[a-z0-9]+", label.lower())
    return frozenset(w[:-1] if len(w) > 3 and w.endswith("s") else w for w in words if w not in STOPWORDS)


def label_similarity(expert: str, automatic: str) -> float:
    """Jaccard index of the two labels' tokens (1.0 for the same words, 0.0 for none in common)."""
    a, b = tokens(expert), tokens(automatic)
    if not a and not b:
        return 1.0 if expert.strip().lower() == automatic.strip().lower() else 0.0
    return len(a & b) / len(a | b)


def agreement(annotations: dict[str, dict[str, Any]], automatic: dict[int, str]) -> dict[str, Any]:
    """Summarise how often the expert's labels match the automatic ones.

    Parameters
    ----------
    annotations
        Concept id (string) -> stored annotation (``label``, ``interpretable``...).
    automatic
        Concept id -> automatic label.

    Returns
    -------
    Counts (annotated, labelled, interpretable, not interpretable), the share of labelled concepts whose
    labels are the same words (``exact``) or overlap by at least :data:`AGREE_AT` (``agree``), the mean
    token overlap, and one row per labelled concept.

    """
    rows = []
    for key, rec in annotations.items():
        label = str(rec.get("label") or "").strip()
        if not label:
            continue
        auto = automatic.get(int(key), "")
        sim = label_similarity(label, auto)
        rows.append(
            {
                "concept": int(key),
                "expert": label,
                "automatic": auto,
                "similarity": sim,
                "exact": tokens(label) == tokens(auto) and bool(tokens(label)),
                "agree": sim >= AGREE_AT,
            }
        )
    rows.sort(key=lambda r: r["concept"])
    n = len(rows)
    verdicts = [rec.get("interpretable") for rec in annotations.values()]
    return {
        "n_annotated": len(annotations),
        "n_labelled": n,
        "n_interpretable": sum(v is True for v in verdicts),
        "n_not_interpretable": sum(v is False for v in verdicts),
        "exact": sum(r["exact"] for r in rows) / n if n else None,
        "agree": sum(r["agree"] for r in rows) / n if n else None,
        "mean_similarity": sum(r["similarity"] for r in rows) / n if n else None,
        "agree_at": AGREE_AT,
        "rows": rows,
    }
