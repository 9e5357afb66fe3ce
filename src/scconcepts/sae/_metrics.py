"""How well an SAE reconstructs embeddings, how sparse it is, and how much cell-type information it keeps."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from scconcepts.sae._data import iter_chunks
from scconcepts.sae._model import TopKSAE

logger = logging.getLogger(__name__)

MAX_CLASSIFIER_CELLS = 20_000


@torch.no_grad()
def reconstruction_metrics(
    sae: TopKSAE, data: Any, rows: np.ndarray | None = None, *, batch_size: int = 8192
) -> dict[str, float]:
    """Fidelity and sparsity of ``sae`` on the selected rows of an embedding (streamed in batches).

    Returns
    -------
    ``r2``: 1 - sum of squared residuals / sum of squares about the rows' mean, over all rows at once;
    ``mse``: mean squared error per dimension in the normalised space (scale-free);
    ``l0``: mean active latents per cell; ``dead_fraction``: share of latents that never fire;
    ``cosine``: mean cosine between centred inputs and reconstructions; ``norm_ratio``: mean ratio of
    their norms (centred on the SAE's training mean); ``n_cells``.

    """
    sae.eval()
    device = next(sae.parameters()).device
    sums = {"res": 0.0, "sq": 0.0, "l0": 0.0, "cos": 0.0, "ratio": 0.0}
    total = None
    count = 0
    fired = torch.zeros(sae.n_latents, dtype=torch.bool, device=device)
    for chunk in iter_chunks(data, rows):
        for start in range(0, len(chunk), batch_size):
            x = torch.as_tensor(chunk[start : start + batch_size], device=device)
            x_norm = sae.normalise(x)
            z = sae.encode(x)
            recon = z @ sae.W_dec + sae.b_dec
            sums["res"] += float(((x_norm - recon) ** 2).sum())
            sums["sq"] += float((x_norm.double() ** 2).sum())
            batch_total = x_norm.double().sum(0)
            total = batch_total if total is None else total + batch_total
            sums["l0"] += float((z > 0).sum())
            sums["cos"] += float(torch.nn.functional.cosine_similarity(x_norm, recon, dim=1).sum())
            sums["ratio"] += float((recon.norm(dim=1) / x_norm.norm(dim=1).clamp_min(1e-8)).sum())
            fired |= (z > 0).any(0)
            count += len(x)
    total_sq_about_mean = sums["sq"] - float(total @ total) / count
    return {
        "r2": 1.0 - sums["res"] / max(total_sq_about_mean, 1e-12),
        "mse": sums["res"] / (count * sae.d_in),
        "l0": sums["l0"] / count,
        "dead_fraction": 1.0 - float(fired.float().mean()),
        "cosine": sums["cos"] / count,
        "norm_ratio": sums["ratio"] / count,
        "n_cells": count,
    }


def informativeness(
    features: np.ndarray | sp.spmatrix, labels: Any, *, folds: int = 5, seed: int = 0
) -> tuple[float, float]:
    """Cross-validated balanced accuracy of a logistic-regression classifier of ``labels`` from ``features``.

    Classes with fewer cells than ``folds`` are left out (they cannot be stratified); at most
    20,000 cells are used (a stratified sample). Returns the mean and standard deviation over folds.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    labels = np.asarray(labels).astype(str)
    classes, counts = np.unique(labels, return_counts=True)
    keep = np.isin(labels, classes[counts >= folds])
    if (~keep).any():
        logger.info("informativeness: leaving out %d classes with fewer than %d cells", (counts < folds).sum(), folds)
    index = np.flatnonzero(keep)
    if len(np.unique(labels[index])) < 2:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    if len(index) > MAX_CLASSIFIER_CELLS:
        index = np.sort(rng.choice(index, MAX_CLASSIFIER_CELLS, replace=False))
    x = features[index]
    model = make_pipeline(StandardScaler(with_mean=not sp.issparse(x)), LogisticRegression(max_iter=2000))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    scores = cross_val_score(model, x, labels[index], cv=splitter, scoring="balanced_accuracy")
    return float(scores.mean()), float(scores.std())
