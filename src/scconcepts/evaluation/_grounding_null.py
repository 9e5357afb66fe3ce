"""The grounding's chance level: shares of random directions, and each method's excess over them.

Draws of as many random unit directions of the embedding as concepts go through the same attribution and
enrichment as every method; a one-sided Fisher exact test compares a method's grounded components with theirs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scconcepts.evaluation._grounding import SUFFIXES, share_of
from scconcepts.stats import excess_over_null

#: Grounding measures: any significant term, a term holding most of the component's top genes, distinct top terms.
GROUNDING = tuple(SUFFIXES)
#: Draws of random directions behind the grounding's chance level: one draw of twenty directions gave 20% to 50%
#: of them a term on pbmc68k, so the chance level is their mean over draws and the test pools every draw.
GROUNDING_DRAWS = 5


def _hits(share: float, n: int) -> int:
    return round(share * n)


def grounding_chance(
    per_seed: pd.DataFrame, draws: list[dict[str, float]], n_grounded: dict[str, int], n_null: int
) -> None:
    """Per grounding measure, add the chance level and the excess over it.

    ``<m>_chance`` and ``<m>_chance_sd`` are the mean and spread over the random-direction draws; ``<m>_excess``
    and ``<m>_pvalue`` a one-sided Fisher test of each seed's components against every draw's.
    """
    if not draws:
        return
    for metric in GROUNDING:
        if metric not in per_seed:
            continue
        chances = np.array([share_of(draw, metric) for draw in draws])
        null_hits = sum(_hits(chance, n_null) for chance in chances)
        tests = [
            excess_over_null(_hits(share, n_grounded[method]), n_grounded[method], null_hits, n_null * len(chances))
            if np.isfinite(share) and np.isfinite(chances).all()
            else {"chance": float("nan"), "excess": float("nan"), "pvalue": float("nan")}
            for method, share in zip(per_seed["method"], per_seed[metric], strict=True)
        ]
        per_seed[f"{metric}_chance"] = [t["chance"] for t in tests]
        per_seed[f"{metric}_chance_sd"] = float(np.std(chances))
        per_seed[f"{metric}_excess"] = [t["excess"] for t in tests]
        per_seed[f"{metric}_pvalue"] = [t["pvalue"] for t in tests]


def pooled_pvalue(
    per_seed: pd.DataFrame, metric: str, draws: list[dict[str, float]], n_grounded: dict[str, int], n_null: int
) -> list[float]:
    """Per method, the excess test on its components pooled over seeds against the components of every draw."""
    null_hits = sum(_hits(share_of(draw, metric), n_null) for draw in draws)
    out = []
    for method, rows in per_seed.groupby("method", sort=False):
        if not draws or rows[metric].isna().all():
            out.append(float("nan"))
            continue
        n = n_grounded[method]
        hits = sum(_hits(share, n) for share in rows[metric])
        out.append(excess_over_null(hits, n * len(rows), null_hits, n_null * len(draws))["pvalue"])
    return out
