"""Baseline representations of an embedding: neurons, PCA, ICA, NMF and sparse dictionary learning.

Every baseline is fitted on the training cells only and then applied to every cell, giving a
cells x components activation matrix, a components x dims decoder (where the method has one) and a
reconstruction of the embedding in its own space, so that all methods are measured the same way.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from scconcepts._errors import InputError

logger = logging.getLogger(__name__)

BASELINES = ("neurons", "pca", "ica", "nmf", "dictionary")
#: Methods whose fitted components depend on the random seed (the others give the same result every time).
SEEDED = ("ica", "nmf", "dictionary")


@dataclass
class Representation:
    """A fitted representation of an embedding.

    Attributes
    ----------
    name
        Method name.
    activations
        Cells x components activations (dense).
    decoder
        Components x dims dictionary (``None`` when the method has none).
    reconstruction
        Cells x dims reconstruction of the embedding in its own space.
    signed
        Whether activations take both signs (neurons, PCA, ICA, dictionary learning).
    transform
        Maps new cells x dims embeddings to their activations (used to attribute components to genes).

    """

    name: str
    activations: np.ndarray
    decoder: np.ndarray | None
    reconstruction: np.ndarray
    signed: bool
    transform: Callable[[np.ndarray], np.ndarray] | None = None


def _neurons(x: np.ndarray, train: np.ndarray) -> Representation:
    decoder = np.eye(x.shape[1], dtype=np.float64)
    x = x.astype(np.float64)
    return Representation("neurons", x, decoder, x, signed=True, transform=lambda new: np.asarray(new, np.float64))


def _pca(x: np.ndarray, train: np.ndarray, n_components: int, seed: int) -> Representation:
    from sklearn.decomposition import PCA

    model = PCA(n_components=n_components, random_state=seed).fit(x[train])
    codes = model.transform(x)
    return Representation(
        "pca", codes, model.components_.copy(), model.inverse_transform(codes), signed=True, transform=model.transform
    )


def _ica(x: np.ndarray, train: np.ndarray, n_components: int, seed: int) -> Representation:
    from sklearn.decomposition import FastICA

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings on small data: the fit is still usable
        model = FastICA(n_components=n_components, whiten="unit-variance", random_state=seed, max_iter=1000)
        model.fit(x[train])
    codes = model.transform(x)
    return Representation(
        "ica", codes, model.mixing_.T.copy(), model.inverse_transform(codes), signed=True, transform=model.transform
    )


def _nmf(x: np.ndarray, train: np.ndarray, n_components: int, seed: int) -> Representation:
    from sklearn.decomposition import NMF

    shift = x[train].min(axis=0)
    shifted = np.clip(x - shift, 0, None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # NNDSVD initialisation needs no more components than dims; beyond that, a seeded random start
        init = "nndsvda" if n_components <= min(shifted.shape[1], len(train)) else "random"
        model = NMF(n_components=n_components, init=init, random_state=seed, max_iter=500).fit(shifted[train])
    codes = model.transform(shifted)
    return Representation(
        "nmf",
        codes,
        model.components_.copy(),
        codes @ model.components_ + shift,
        signed=False,
        transform=lambda new: model.transform(np.clip(new - shift, 0, None)),
    )


def _dictionary(x: np.ndarray, train: np.ndarray, n_components: int, k: int, seed: int) -> Representation:
    from sklearn.decomposition import MiniBatchDictionaryLearning

    mean = x[train].mean(axis=0)
    centred = x - mean
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = MiniBatchDictionaryLearning(
            n_components=n_components,
            alpha=0.1,
            batch_size=min(256, len(train)),
            max_iter=50,
            transform_algorithm="omp",
            transform_n_nonzero_coefs=k,
            random_state=seed,
        ).fit(centred[train])
    codes = model.transform(centred)
    return Representation(
        "dictionary",
        codes,
        model.components_.copy(),
        codes @ model.components_ + mean,
        signed=True,
        transform=lambda new: model.transform(new - mean),
    )


def fit_baseline(
    name: str, embedding: np.ndarray, train_rows: np.ndarray, *, n_concepts: int, k: int, seed: int = 0
) -> Representation:
    """Fit baseline ``name`` on the training rows of ``embedding`` and apply it to every row.

    Parameters
    ----------
    name
        One of ``"neurons"`` (the embedding dimensions themselves), ``"pca"``, ``"ica"`` (both with
        ``min(n_concepts, dim)`` components), ``"nmf"`` (on the embedding shifted to be non-negative,
        ``n_concepts`` components) or ``"dictionary"`` (scikit-learn mini-batch dictionary learning
        with ``n_concepts`` atoms and ``k`` non-zero coefficients per cell by orthogonal matching pursuit).
    embedding
        Cells x dims embedding.
    train_rows
        Row indices the method is fitted on.
    n_concepts
        Number of SAE concepts to match.
    k
        Active concepts per cell of the SAE (sparsity of dictionary learning).
    seed
        Random seed of the methods that have one.

    Returns
    -------
    The fitted :class:`Representation`.

    """
    x = np.asarray(embedding, dtype=np.float64)
    if x.ndim != 2:
        raise InputError(f"the embedding must be cells x dims, got shape {x.shape}")
    n_linear = min(n_concepts, x.shape[1], len(train_rows))
    if name == "neurons":
        return _neurons(x, train_rows)
    if name == "pca":
        return _pca(x, train_rows, n_linear, seed)
    if name == "ica":
        return _ica(x, train_rows, n_linear, seed)
    if name == "nmf":
        return _nmf(x, train_rows, n_concepts, seed)
    if name == "dictionary":
        return _dictionary(x, train_rows, n_concepts, k, seed)
    raise InputError(f"unknown baseline {name!r}; choose from {', '.join(BASELINES)}")
