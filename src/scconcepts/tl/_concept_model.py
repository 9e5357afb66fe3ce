"""The encoder and components function through which a run's concepts are re-encoded (attribution, faithfulness).

Concepts of the cell embedding are ``sae.encode(encoder.encode(x))``. Concepts of gene-token states (a run with
``uns[key]["params"]["tokens"]``) are the max over each cell's gene tokens of ``sae.encode`` of the token states:
the transformer is wrapped in :class:`~scconcepts.attribution.TokenConceptEncoder`, with the identity as components,
so every tool that perturbs genes and re-encodes cells measures the per-cell activation ``obsm["X_<key>"]`` holds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import torch
from anndata import AnnData

from scconcepts._errors import InputError
from scconcepts._keys import params_key
from scconcepts.attribution._token_concepts import TokenConceptEncoder, identity
from scconcepts.models._base import Encoder

logger = logging.getLogger(__name__)

Components = Callable[[torch.Tensor], torch.Tensor]


def _components(sae: Any) -> Components:
    if sae is None:
        raise InputError(
            "attribute needs the SAE (sae=...) whose concepts are in the activations; pass sae=load_sae(dir)"
        )
    if hasattr(sae, "encode"):
        if isinstance(sae, torch.nn.Module):
            sae.eval()
        return sae.encode
    if callable(sae):
        return sae
    raise InputError(
        f"sae must be an SAE with .encode or a function embeddings -> activations, not {type(sae).__name__}"
    )


def refuse_token_run(params: dict[str, Any], command: str) -> None:
    """Refuse, in one line, a command that reads concepts from the cell embedding on a token run's concepts."""
    if bool(params.get("tokens", False)):
        raise InputError(
            f"{command} reads concepts from the cell embedding, but these were learnt on gene-token states "
            f"({params.get('model', '?')} {params.get('layer', '?')}); {command} does not support token runs yet"
        )


def token_run(adata: AnnData, key: str) -> dict[str, Any] | None:
    """The parameters of run ``key`` when its concepts were learnt on gene-token states, else ``None``."""
    info = adata.uns.get(params_key(key))
    params = info.get("params") if isinstance(info, dict) else None
    return dict(params) if isinstance(params, dict) and bool(params.get("tokens", False)) else None


def concept_model(adata: AnnData, key: str, encoder: Encoder, sae: Any) -> tuple[Encoder, Components]:
    """The encoder and the components function that give the activations of run ``key`` from expression.

    For a token run the transformer is wrapped (:class:`~scconcepts.attribution.TokenConceptEncoder`: the run's
    layer, token sample and seed) and the components are the identity; an encoder already wrapped is used as it
    is (``sae`` is then not needed). Other runs get ``encoder`` and the SAE's ``encode``.
    """
    if isinstance(encoder, TokenConceptEncoder):
        return encoder, identity
    components = _components(sae)
    params = token_run(adata, key)
    if params is None:
        return encoder, components
    limit = params.get("max_tokens_per_cell")
    limit = None if limit is None or str(limit) in {"", "none", "None"} or int(limit) < 1 else int(limit)
    wrapped = TokenConceptEncoder(encoder, components, layer=str(params.get("layer") or "") or None,
                                  max_tokens_per_cell=limit, token_seed=int(params.get("token_seed", 0)))  # fmt: skip
    logger.debug("token concepts of %s %s: genes are perturbed in the counts, the transformer re-run and every gene "
                "token re-encoded; a cell's activation is the max over its tokens%s", encoder.name, wrapped.layer,
                "" if limit is None else f" (a sample of at most {limit} per cell, as stored)")  # fmt: skip
    return wrapped, identity
