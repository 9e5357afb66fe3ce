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
#: A component is specifically grounded when one significant term holds at least this share of its top genes.
SPECIFIC_SHARE = 0.5
#: Top attributed genes compared with a term's top member genes (the enrichment table lists 10 per term).
N_TOP_GENES = 10


def specific_shares(
    table: Any, attribution: np.ndarray, gene_names: np.ndarray, *, n_components: int, alpha: float
) -> dict[str, float]:
    """Per source, the share of components whose top genes are mostly in one significant term.

    The share of components with any significant term saturates: a direction mixing several gene
    programs is significant for each of them (random directions of a low-dimensional embedding are
    "grounded" as often as anything). Here a component counts only when one term at FDR < ``alpha``
    holds at least half of its :data:`N_TOP_GENES` top attributed genes among the term's top
    member genes (the ``genes`` column of the enrichment table).
    """
    out: dict[str, float] = {}
    if table is None or not len(table):
        return out
    rows = table[(table["ranking"] == "attribution") & (table["padj"] < alpha)]
    scores = np.nan_to_num(np.asarray(attribution, dtype=np.float64))
    top = {
        str(j): set(gene_names[np.argsort(-scores[:, j], kind="stable")[:N_TOP_GENES]].tolist())
        for j in range(scores.shape[1])
    }
    for source in table["source"].unique():
        hits = set()
        for concept, genes in zip(
            rows.loc[rows["source"] == source, "concept"], rows.loc[rows["source"] == source, "genes"], strict=True
        ):
            members = set(str(genes).split(";"))
            if len(top.get(str(concept), set()) & members) >= SPECIFIC_SHARE * N_TOP_GENES:
                hits.add(str(concept))
        out[str(source)] = len(hits) / max(n_components, 1)
    return out


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
    Per source, the share of components with at least one term at FDR < ``alpha``; and, under
    ``"<source> (specific)"``, the share whose top genes are mostly in one such term
    (:func:`specific_shares`).

    """
    from scconcepts import tl

    key = f"evaluation_{name}"
    adata.obsm[activations_key(key)] = sp.csr_matrix(activations, dtype=np.float32)
    try:
        tl.attribute(adata, encoder=encoder, sae=components, key=key, engine=ENGINE, n_cells=n_cells)
        tl.enrich(adata, key=key, sources=sources, alpha=alpha)
        shares = tl.enrichment_summary(adata, key=key, alpha=alpha)["concepts_with_term"]
        specific = specific_shares(
            adata.uns.get(enrichment_key(key)),
            adata.varm[attribution_key(key)],
            np.asarray(adata.var_names).astype(str),
            n_components=int(activations.shape[1]),
            alpha=alpha,
        )
        shares = {**shares, **{f"{source} (specific)": value for source, value in specific.items()}}
    finally:
        for stale in (key, attribution_key(key), enrichment_key(key), params_key(key)):
            _cleanup(adata, stale)
    return {str(source): float(share) for source, share in shares.items()}
