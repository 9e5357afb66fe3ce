"""Biological grounding: the share of components with a GO BP term, by the same attribution and enrichment for all."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from anndata import AnnData

from scconcepts._keys import activations_key, attribution_key, enrichment_key, params_key

logger = logging.getLogger(__name__)

#: Attribution engine for every method: exact re-encoding needs no gradient, so it works for all.
ENGINE = "exact"


def oriented_function(
    transform: Callable[[np.ndarray], np.ndarray], signs: np.ndarray
) -> Callable[[torch.Tensor], torch.Tensor]:
    """Wrap a numpy transform as embeddings -> non-negative activations (each column times its sign, clipped at 0)."""

    def components(embeddings: torch.Tensor) -> torch.Tensor:
        values = transform(embeddings.detach().cpu().double().numpy()) * signs
        return torch.as_tensor(np.clip(values, 0, None), dtype=embeddings.dtype, device=embeddings.device)

    return components


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
    Per source, the share of components with at least one term at FDR < ``alpha``.

    """
    from scconcepts import tl

    key = f"evaluation_{name}"
    adata.obsm[activations_key(key)] = sp.csr_matrix(activations, dtype=np.float32)
    try:
        tl.attribute(adata, encoder=encoder, sae=components, key=key, engine=ENGINE, n_cells=n_cells)
        tl.enrich(adata, key=key, sources=sources, alpha=alpha)
        shares = tl.enrichment_summary(adata, key=key, alpha=alpha)["concepts_with_term"]
    finally:
        for stale in (key, attribution_key(key), enrichment_key(key), params_key(key)):
            _cleanup(adata, stale)
    return {str(source): float(share) for source, share in shares.items()}
