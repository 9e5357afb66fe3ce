"""Grounding of any components: attribute them to genes, enrich, and read the shares of components with terms."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from anndata import AnnData

from scconcepts._keys import activations_key, attribution_key, enrichment_key, params_key
from scconcepts.evaluation._grounding import ENGINE, distinct_shares, specific_shares
from scconcepts.tl._attribute import attribute
from scconcepts.tl._enrich import enrich, enrichment_summary


def _cleanup(adata: AnnData, key: str) -> None:
    for mapping in (adata.obsm, adata.varm, adata.uns):
        for name in [n for n in mapping if n == key or n.startswith(f"{key}_") or n == activations_key(key)]:
            del mapping[name]


def grounding(
    adata: AnnData,
    *,
    encoder: Any,
    name: str,
    components: Callable[[torch.Tensor], torch.Tensor],
    activations: np.ndarray | sp.spmatrix,
    alpha: float = 0.05,
    sources: Any = "auto",
    n_cells: int = 50,
) -> dict[str, float]:
    """Attribute each component to genes and enrich; return the share of components with a term at FDR < ``alpha``.

    Parameters
    ----------
    adata
        Cells with the expression ``encoder`` reads.
    encoder
        The model whose embedding the components live in.
    name
        Method name (temporary keys ``evaluation_<name>`` are written and removed).
    components
        Embeddings -> non-negative cells x components activations.
    activations
        Those activations for every cell (top cells are chosen from them).
    alpha
        FDR threshold on enrichment terms.
    sources
        Gene-set sources of :func:`scconcepts.tl.enrich` (default: GO BP).
    n_cells
        Top cells perturbed per component.

    Returns
    -------
    Per source, the share of components with at least one term at FDR < ``alpha``; under
    ``"<source> (specific)"`` the share whose top genes are mostly in one such term
    (:func:`~scconcepts.evaluation._grounding.specific_shares`); under ``"<source> (distinct)"`` the
    number of distinct top terms per component (:func:`~scconcepts.evaluation._grounding.distinct_shares`).

    """
    key = f"evaluation_{name}"
    n_components = int(activations.shape[1])
    adata.obsm[activations_key(key)] = sp.csr_matrix(activations, dtype=np.float32)
    try:
        attribute(adata, encoder=encoder, sae=components, key=key, engine=ENGINE, n_cells=n_cells)
        enrich(adata, key=key, sources=sources, alpha=alpha)
        shares = enrichment_summary(adata, key=key, alpha=alpha)["concepts_with_term"]
        table = adata.uns.get(enrichment_key(key))
        names = np.asarray(adata.var_names).astype(str)
        specific = specific_shares(
            table, adata.varm[attribution_key(key)], names, n_components=n_components, alpha=alpha
        )
        distinct = distinct_shares(table, n_components=n_components, alpha=alpha)
        shares = {  # a source without significant terms has none specific or distinct either
            **shares,
            **{f"{source} (specific)": specific.get(source, 0.0) for source in shares},
            **{f"{source} (distinct)": distinct.get(source, 0.0) for source in shares},
        }
    finally:
        for stale in (key, attribution_key(key), enrichment_key(key), params_key(key)):
            _cleanup(adata, stale)
    return {str(source): float(share) for source, share in shares.items()}
