"""Biological grounding measures: the share of components with a term, a specific term, or a term of their own.

The attribution and enrichment that produce them run in :func:`scconcepts.tl._grounding.grounding`; this module
holds what reads their output, and the wrappers that turn a baseline's transform into non-negative components.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import torch

logger = logging.getLogger(__name__)

#: Attribution engine for every method: exact re-encoding needs no gradient, so it works for all.
ENGINE = "exact"
#: A component is specifically grounded when one significant term holds at least this share of its top genes.
SPECIFIC_SHARE = 0.5
#: Top attributed genes compared with a term's top member genes (the enrichment table lists 10 per term).
N_TOP_GENES = 10
#: Suffix of each grounding measure's key in a shares dictionary (``"go_bp (specific)"``), by measure name.
SUFFIXES = {"grounding": "", "grounding_specific": " (specific)", "grounding_distinct": " (distinct)"}


def specific_shares(
    table: Any, attribution: np.ndarray, gene_names: np.ndarray, *, n_components: int, alpha: float
) -> dict[str, float]:
    """Per source, the share of components whose top genes are mostly in one significant term.

    The share of components with any significant term saturates: a direction mixing several gene
    programs is significant for each of them (random directions of a low-dimensional embedding are
    "grounded" as often as anything). Here a component counts only when one term at FDR < ``alpha``
    holds at least half of its :data:`N_TOP_GENES` top attributed genes among the term's top
    member genes (the ``genes`` column of the enrichment table).
    """
    out: dict[str, float] = {}
    if table is None or not len(table):
        return out
    rows = table[(table["ranking"] == "attribution") & (table["padj"] < alpha)]
    scores = np.nan_to_num(np.asarray(attribution, dtype=np.float64))
    top = {
        str(j): set(gene_names[np.argsort(-scores[:, j], kind="stable")[:N_TOP_GENES]].tolist())
        for j in range(scores.shape[1])
    }
    for source in table["source"].unique():
        hits = set()
        for concept, genes in zip(
            rows.loc[rows["source"] == source, "concept"], rows.loc[rows["source"] == source, "genes"], strict=True
        ):
            members = set(str(genes).split(";"))
            if len(top.get(str(concept), set()) & members) >= SPECIFIC_SHARE * N_TOP_GENES:
                hits.add(str(concept))
        out[str(source)] = len(hits) / max(n_components, 1)
    return out


def oriented_function(
    transform: Callable[[np.ndarray], np.ndarray], signs: np.ndarray
) -> Callable[[torch.Tensor], torch.Tensor]:
    """Wrap a numpy transform as embeddings -> non-negative activations (each column times its sign, clipped at 0)."""

    def components(embeddings: torch.Tensor) -> torch.Tensor:
        values = transform(embeddings.detach().cpu().double().numpy()) * signs
        return torch.as_tensor(np.clip(values, 0, None), dtype=embeddings.dtype, device=embeddings.device)

    return components


def distinct_shares(table: Any, *, n_components: int, alpha: float) -> dict[str, float]:
    """Per source, the number of distinct top terms over the components, divided by the number of components.

    A component's top term is its most significant term of the attribution ranking kept by elim at FDR <
    ``alpha``. Components that repeat one program share their top term, so this share counts programs, not
    directions: twenty random directions of a ten-dimensional embedding reach the same strongly grounded axis
    several times (on the sorted PBMC, ten grounded random directions of one draw held six distinct top terms,
    four of them the same MHC class II antigen presentation term), which the share of components with a term
    counts each time.
    """
    out: dict[str, float] = {}
    if table is None or not len(table):
        return out
    frame = pd.DataFrame(table)
    rows = frame[(frame["ranking"] == "attribution") & (frame["padj"] < alpha) & frame["elim"].astype(bool)]
    for source in frame["source"].unique():
        hits = rows[rows["source"] == source].sort_values("padj", kind="stable").groupby("concept").head(1)
        out[str(source)] = hits["term_id"].nunique() / max(n_components, 1)
    return out


def share_of(shares: dict[str, float], measure: str) -> float:
    """The first gene-set source's share for a grounding measure (a key of :data:`SUFFIXES`); NaN if absent."""
    suffix = SUFFIXES[measure]
    others = [s for s in SUFFIXES.values() if s and s != suffix]
    names = [n for n in shares if n.endswith(suffix) and not any(n.endswith(o) for o in others)]
    return float(shares[names[0]]) if names else float("nan")


def both_sides(transform: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """Wrap a signed transform as its positive parts followed by its negative parts (twice the components)."""

    def sides(embeddings: np.ndarray) -> np.ndarray:
        values = transform(embeddings)
        return np.concatenate([values, -values], axis=1)

    return sides
