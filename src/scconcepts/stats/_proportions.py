"""A share of components against the share of null components: excess and one-sided exact p-value."""

from __future__ import annotations

import numpy as np


def excess_over_null(hits: int, total: int, null_hits: int, null_total: int) -> dict[str, float]:
    """Excess of ``hits / total`` over ``null_hits / null_total``, with a one-sided Fisher exact test.

    The p-value is the chance, were both groups drawn from one population, of the observed group
    holding at least ``hits`` of the pooled hits (hypergeometric upper tail).

    Returns
    -------
    ``share``, ``chance`` (the null share), ``excess`` (their difference) and ``pvalue``.

    """
    from scipy.stats import hypergeom

    if total <= 0 or null_total <= 0:
        nan = float("nan")
        return {"share": nan, "chance": nan, "excess": nan, "pvalue": nan}
    share, chance = hits / total, null_hits / null_total
    pvalue = float(hypergeom.sf(hits - 1, total + null_total, hits + null_hits, total))
    return {"share": share, "chance": chance, "excess": share - chance, "pvalue": float(np.clip(pvalue, 0.0, 1.0))}
