"""Fidelity and sparsity of any representation: held-out R^2, L0 and dead fraction."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

#: Activations at or below this magnitude count as zero (dense methods give exact zeros rarely).
ACTIVE_TOL = 1e-8


def r2(x: np.ndarray, reconstruction: np.ndarray) -> float:
    """Return 1 - sum of squared residuals / sum of squares about the rows' mean, over all rows at once.

    The same definition as :func:`scconcepts.sae.reconstruction_metrics` (which works in the SAE's
    normalised space; centring and one global scale leave this ratio unchanged).
    """
    x = np.asarray(x, dtype=np.float64)
    residual = float(((x - np.asarray(reconstruction, dtype=np.float64)) ** 2).sum())
    total = float(((x - x.mean(axis=0)) ** 2).sum())
    return 1.0 - residual / max(total, 1e-12)


def active_mask(activations: np.ndarray | sp.spmatrix) -> np.ndarray | sp.spmatrix:
    """Boolean cells x components mask of active (non-zero) activations."""
    if sp.issparse(activations):
        mask = abs(activations.tocsr()) > ACTIVE_TOL
        return mask
    return np.abs(np.asarray(activations)) > ACTIVE_TOL


def sparsity(activations: np.ndarray | sp.spmatrix) -> dict[str, float]:
    """Return ``l0`` (mean active components per cell) and ``dead_fraction`` (share never active)."""
    mask = active_mask(activations)
    per_cell = np.asarray(mask.sum(axis=1)).ravel()
    per_component = np.asarray(mask.sum(axis=0)).ravel()
    return {"l0": float(per_cell.mean()), "dead_fraction": float((per_component == 0).mean())}
