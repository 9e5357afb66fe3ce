"""scGPT's MVC head as an expression decoder: cell embedding x gene queries -> each gene's predicted value.

The official ``MVCDecoder`` ("inner product") predicts gene ``g`` of a cell as
``<W sigmoid(gene2query(e_g)), cell_emb>``, with ``e_g`` the gene's token embedding after the encoder's
layer norm and ``cell_emb`` the last layer's ``<cls>`` state. The values are binned expression.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F

from scconcepts._errors import InputError

if TYPE_CHECKING:
    from scconcepts.models._scgpt import ScgptEncoder

DECODES_TO = "binned expression predicted by scGPT's MVC head, for the unit-norm cell embedding"


def why_not(encoder: ScgptEncoder) -> str | None:
    """Why this encoder cannot decode expression, or ``None`` when it can."""
    if encoder.checkpoint.mvc is None:
        return (
            f"the scGPT checkpoint {encoder.checkpoint.path} has no MVC decoder weights (mvc_decoder.gene2query, "
            "mvc_decoder.W), so steering cannot be decoded to genes; use --embedding-only"
        )
    if encoder.pooling != "cls" or encoder.layer != encoder.default_layer:
        return (
            "scGPT's MVC head decodes the last layer's <cls> state; this run embeds "
            f"{encoder.layer} with {encoder.pooling} pooling, so steering cannot be decoded to genes; "
            "use --embedding-only"
        )
    return None


@torch.no_grad()
def gene_queries(encoder: ScgptEncoder) -> torch.Tensor:
    """``genes x d`` query vectors ``W sigmoid(gene2query(e_g))`` of the encoder's genes."""
    mvc = encoder.checkpoint.mvc
    assert mvc is not None
    device = encoder.device
    tokens = torch.as_tensor(encoder.gene_tokens, device=device)
    gene_embs = encoder.model.encoder(tokens)
    queries = torch.sigmoid(F.linear(gene_embs, mvc["gene2query.weight"].to(device), mvc["gene2query.bias"].to(device)))
    return F.linear(queries, mvc["W.weight"].to(device))


@torch.no_grad()
def decode_scgpt(encoder: ScgptEncoder, embedding: np.ndarray, *, batch_size: int = 1024) -> np.ndarray:
    """Cells x genes MVC predictions (clipped at 0) for cell embeddings of the encoder's space."""
    reason = why_not(encoder)
    if reason is not None:
        raise InputError(reason)
    queries = gene_queries(encoder)
    out = []
    for start in range(0, embedding.shape[0], batch_size):
        cells = torch.as_tensor(np.asarray(embedding[start : start + batch_size], dtype=np.float32))
        out.append((cells.to(queries.device) @ queries.T).clamp_min(0).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, len(encoder.genes)), dtype=np.float32)
