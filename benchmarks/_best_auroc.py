"""The best single component's AUROC for a label: concepts (one sign), neurons, PCs and ICs (either sign).

A small stand-in for the package's selectivity measure: each component's activation is the score of
"this cell has the label", the AUROC is computed per component and the best is kept. Signed components
(neurons, principal and independent components) may mark a label by low values, so they count
``max(AUROC, 1 - AUROC)``; concepts are non-negative and count as they are.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
from scipy.stats import rankdata


def column_aurocs(scores, target: np.ndarray) -> np.ndarray:
    """AUROC of every column of ``scores`` (cells x components, dense or sparse) for the boolean ``target``."""
    values = scores.toarray() if sp.issparse(scores) else np.asarray(scores, dtype=np.float64)
    target = np.asarray(target, dtype=bool)
    n_pos, n_neg = int(target.sum()), int((~target).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("the target needs cells on both sides")
    ranks = rankdata(values, axis=0)  # ties get their mean rank: a constant column scores 0.5
    return (ranks[target].sum(axis=0) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def best_auroc(scores, target: np.ndarray, *, signed: bool) -> tuple[float, int]:
    """The best component's AUROC for ``target`` and its index (either sign when ``signed``)."""
    aurocs = column_aurocs(scores, target)
    if signed:
        aurocs = np.maximum(aurocs, 1.0 - aurocs)
    best = int(np.argmax(aurocs))
    return float(aurocs[best]), best


def permuted_best(scores, target: np.ndarray, *, n_permutations: int = 5, seed: int = 0) -> float:
    """Chance level of :func:`best_auroc` (one sign): its mean over ``target`` permuted among the cells."""
    rng = np.random.default_rng(seed)
    return float(np.mean([best_auroc(scores, rng.permutation(target), signed=False)[0] for _ in range(n_permutations)]))


def linear_components(embedding: np.ndarray, *, seed: int = 0) -> dict[str, np.ndarray]:
    """The embedding's neurons, principal components and independent components (FastICA), as many as dims."""
    from sklearn.decomposition import PCA, FastICA

    x = np.asarray(embedding, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # FastICA convergence warnings: the components are still usable
        ica = FastICA(n_components=x.shape[1], whiten="unit-variance", random_state=seed, max_iter=1000)
        independent = ica.fit_transform(x)
    return {
        "neuron": x,
        "PC": PCA(n_components=x.shape[1], random_state=seed).fit_transform(x),
        "IC": independent,
    }


def probe_auroc(embedding: np.ndarray, target: np.ndarray, *, folds: int = 5, seed: int = 0) -> float:
    """Cross-validated AUROC of a logistic-regression probe on the standardised embedding (the linear ceiling)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    splits = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    scores = cross_val_predict(probe, embedding, target, cv=splits, method="decision_function")
    return float(roc_auc_score(target, scores))
