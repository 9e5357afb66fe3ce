"""An empirical null among matched units, with each unit's own sampling error (a random-effects z-test).

Each unit (a gene) has an estimated effect ``m`` with a standard error ``se`` from its replicates (the
cells). Under the null the unit's true effect is drawn from the bulk of comparable units: units are
split into bins of similar ``scale`` (e.g. how strongly the gene moves the model overall), and within
a bin the null is normal with centre ``mu`` = median of ``m`` and between-unit spread
``tau^2 = (1.4826 MAD)^2 - median(se^2)`` (the spread of the estimates minus their typical sampling
variance; Efron 2004, JASA 99:96-104, for the empirical null; DerSimonian & Laird 1986 for the
random-effects variance). Then ``z = (m - mu) / sqrt(tau^2 + se^2)``: a unit measured in few or
disagreeing replicates has a large ``se`` and a small ``z``; a unit that stands out from comparable
units consistently across replicates has a large ``z``. No floor on the scale: where ``tau`` and
``se`` are both 0 the unit equals the null centre exactly and gets ``z = 0``.

With few replicates ``se`` itself is uncertain: estimated from ``n`` replicates, ``se^2`` has
``d = n - 1`` degrees of freedom, and when ``tau`` is small ``z`` is close to ``(m - mu) / se``, a
Student t with ``d`` degrees of freedom, whose tails are far heavier than the normal's for small ``n``
(pure sampling noise from 4-10 replicates read against the normal gives twice the nominal rate at
p < 0.01). Giving ``dof`` reads ``z`` against Student's t with the Welch-Satterthwaite degrees of
freedom of the variance ``tau^2 + se^2``, of which only ``se^2`` is uncertain (``tau^2`` comes from
the whole bin): ``d * ((tau^2 + s^2) / s^2)^2``, with ``s^2`` the bin's typical (median) ``se^2``
rather than the unit's own, so that a unit whose ``se`` came out small by chance is not read against
a lighter tail. That is ``d`` where sampling error dominates, and tends to the normal where the
spread between units does or the replicates are many.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

_MAD_TO_SD = 1.4826


def _bins(scale: np.ndarray, min_per_bin: int, max_bins: int) -> np.ndarray:
    n_bins = int(np.clip(scale.size // max(min_per_bin, 1), 1, max_bins))
    if n_bins == 1:
        return np.zeros(scale.size, dtype=np.int64)
    ranks = np.argsort(np.argsort(scale, kind="stable"), kind="stable")
    return (ranks * n_bins // scale.size).astype(np.int64)


def matched_null_pvalues(
    effect: np.ndarray,
    se: np.ndarray,
    scale: np.ndarray,
    valid: np.ndarray,
    *,
    min_per_bin: int = 100,
    max_bins: int = 10,
    alternative: str = "greater",
    dof: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Random-effects z and p-values of each column's valid units against the null of matched units.

    Parameters
    ----------
    effect, se
        Units x columns estimated effects and their standard errors (over replicates).
    scale
        Units x columns (or units) value by which units are matched: the null of a unit is estimated
        from the units of its column in the same quantile bin of ``scale``.
    valid
        Units x columns mask of the units to test; the others get ``z = 0`` and ``p = 1``.
    min_per_bin, max_bins
        Bins hold at least ``min_per_bin`` units (one bin when there are fewer), at most ``max_bins`` bins.
    alternative
        ``"greater"`` (one-sided, effects above the null) or ``"two-sided"``.
    dof
        Degrees of freedom of each ``se`` (replicates - 1), units x columns or broadcastable to it (e.g.
        ``1 x columns``): p-values from Student's t with the Welch-Satterthwaite degrees of freedom of
        ``tau^2 + se^2`` (see the module docstring). ``None`` reads ``z`` against the normal.

    Returns
    -------
    ``(z, pval)``, both units x columns float64.

    """
    if alternative not in ("greater", "two-sided"):
        raise ValueError(f"alternative must be 'greater' or 'two-sided', not {alternative!r}")
    effect = np.asarray(effect, dtype=np.float64)
    se = np.asarray(se, dtype=np.float64)
    scale = np.broadcast_to(np.asarray(scale, dtype=np.float64).reshape(effect.shape[0], -1), effect.shape)
    z = np.zeros(effect.shape)
    df_eff = np.full(effect.shape, np.inf)
    base = None if dof is None else np.broadcast_to(np.asarray(dof, dtype=np.float64), effect.shape)
    for column in range(effect.shape[1]):
        units = np.flatnonzero(valid[:, column])
        if units.size == 0:
            continue
        bins = _bins(scale[units, column], min_per_bin, max_bins)
        for b in np.unique(bins):
            members = units[bins == b]
            m, s = effect[members, column], se[members, column]
            centre = np.median(m)
            spread = _MAD_TO_SD * np.median(np.abs(m - centre))
            typical = float(np.median(s**2))
            tau2 = max(spread**2 - typical, 0.0)
            sd = np.sqrt(tau2 + s**2)
            if base is not None and typical > 0:  # Welch-Satterthwaite, at the bin's typical se^2
                df_eff[members, column] = base[members, column] * ((tau2 + typical) / typical) ** 2
            with np.errstate(divide="ignore", invalid="ignore"):
                z[members, column] = np.where(sd > 0, (m - centre) / np.where(sd > 0, sd, 1.0), 0.0)
    if dof is None:
        tail = stats.norm.sf
    else:
        df = np.maximum(df_eff, 1.0)

        def tail(x: np.ndarray) -> np.ndarray:
            return stats.t.sf(x, df)

    pval = tail(z) if alternative == "greater" else 2 * tail(np.abs(z))
    pval = np.where(valid, pval, 1.0)
    return z, pval
