"""``tl.concepts_to_obs``: copy concept activations into ``obs`` columns, where scanpy's plots look for colours."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from anndata import AnnData

from scconcepts._errors import InputError
from scconcepts._keys import DEFAULT_KEY, activations_key


def concept_ids(
    adata: AnnData, concepts: Sequence[int | str] | int | str | None, *, key: str = DEFAULT_KEY
) -> list[int]:
    """Return concept ids as integers, checked against ``obsm["X_<key>"]`` (``None``: every concept).

    Accepts ``21``, ``"21"`` and ``"concept_21"``.
    """
    a_key = activations_key(key)
    if a_key not in adata.obsm:
        raise InputError(f"obsm[{a_key!r}] not found; run scconcepts.tl.train_sae first")
    n = adata.obsm[a_key].shape[1]
    if concepts is None:
        return list(range(n))
    if isinstance(concepts, (int, np.integer, str)):
        concepts = [concepts]
    ids = []
    for concept in concepts:
        text = str(concept).removeprefix("concept_")
        if not text.lstrip("-").isdigit() or not 0 <= int(text) < n:
            raise InputError(f"no concept {concept!r}; ids run from 0 to {n - 1}")
        ids.append(int(text))
    return ids


def concepts_to_obs(
    adata: AnnData,
    concepts: Sequence[int | str] | int | str | None = None,
    *,
    key: str = DEFAULT_KEY,
    prefix: str = "concept_",
) -> list[str]:
    """Copy the activations of ``concepts`` into ``obs["concept_<id>"]`` (0 where a concept is silent), in place.

    Afterwards ``sc.pl.umap(adata, color="concept_21")`` colours the cells by concept 21.

    Parameters
    ----------
    adata
        Data with ``obsm["X_<key>"]`` from :func:`scconcepts.tl.train_sae`.
    concepts
        Concept ids (``21``, ``"21"`` or ``"concept_21"``); ``None`` copies every concept.
    key
        Stem of the concept keys.
    prefix
        Start of the column names.

    Returns
    -------
    The names of the columns written.

    """
    ids = concept_ids(adata, concepts, key=key)
    activations = sp.csc_matrix(adata.obsm[activations_key(key)])
    columns = [f"{prefix}{cid}" for cid in ids]
    values = activations[:, ids].toarray().astype(np.float32)
    for j, column in enumerate(columns):
        adata.obs[column] = values[:, j]
    return columns
