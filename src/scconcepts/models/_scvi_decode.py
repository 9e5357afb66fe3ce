"""scVI's generative side: embeddings (latent, or a hidden layer of the encoder) back to normalised expression."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
from anndata import AnnData
from torch import nn

from scconcepts._errors import InputError

if TYPE_CHECKING:
    from scconcepts.models._scvi import ScviEncoder

#: Normalised expression is reported per this many counts (scale x 10,000).
PER_COUNTS = 1e4
DECODES_TO = "normalised expression (scVI's decoder scale, per 10,000 counts)"


def _batch_codes(encoder: ScviEncoder, adata: AnnData) -> np.ndarray:
    """Each cell's batch code in the model's order (0 for every cell when the model has one batch)."""
    n_batch = int(getattr(encoder.model.module, "n_batch", 1) or 1)
    if n_batch <= 1:
        return np.zeros(adata.n_obs, dtype=np.int64)
    key = encoder.batch_key
    if key is None or key not in adata.obs:
        raise InputError(f"the scVI decoder needs each cell's batch; the data need obs[{key!r}]")
    batches = encoder._batches
    codes = np.asarray([batches.index(b) if b in batches else -1 for b in adata.obs[key].astype(str)])
    if (codes < 0).any():
        unknown = sorted(set(adata.obs[key][codes < 0].astype(str)))[:3]
        raise InputError(f"batches {unknown} were not seen when the scVI model was trained")
    return codes


def _latent_from_hidden(
    encoder: ScviEncoder, h: torch.Tensor, covariates: list[torch.Tensor], stop: int
) -> torch.Tensor:
    """Run the encoder's layers after hidden layer ``stop`` and its mean head: hidden state -> latent mean."""
    fc = encoder._fc
    for i, layers in enumerate(fc.fc_layers):
        if i <= stop:
            continue
        for layer in layers:
            if layer is None:
                continue
            if isinstance(layer, nn.Linear) and covariates and fc.inject_into_layer(i):
                h = torch.cat((h, *covariates), dim=-1)
            h = layer(h)
    return encoder._z_encoder.mean_encoder(h)


@torch.no_grad()
def decode_scvi(encoder: ScviEncoder, embedding: np.ndarray, adata: AnnData, *, batch_size: int = 1024) -> np.ndarray:
    """Decode embeddings of ``adata``'s cells to normalised expression with scVI's generative model.

    A latent embedding goes straight into ``module.generative`` with each cell's observed log library size
    and batch; a hidden-layer embedding (``layer="hidden..."``) first runs through the rest of the encoder
    to the latent posterior mean. Returns cells x genes ``px.scale * 1e4``.
    """
    if embedding.shape[0] != adata.n_obs:
        raise InputError(f"{embedding.shape[0]} embeddings for {adata.n_obs} cells; give one per cell")
    module = encoder.model.module.eval()
    device = encoder.device
    counts = encoder.expression(adata)
    library = np.log(np.maximum(np.asarray(counts.sum(axis=1)).ravel(), 1.0))
    batches = _batch_codes(encoder, adata)
    context = encoder.context(adata)
    stop = getattr(encoder, "_stop", None)
    out = []
    for start in range(0, embedding.shape[0], batch_size):
        rows = slice(start, start + batch_size)
        z = torch.as_tensor(np.asarray(embedding[rows], dtype=np.float32), device=device)
        if stop is not None:
            ctx = None if context is None else torch.as_tensor(context[rows], device=device)
            z = _latent_from_hidden(encoder, z, encoder._covariates(ctx), stop)
        lib = torch.as_tensor(library[rows], dtype=torch.float32, device=device).unsqueeze(1)
        batch = torch.as_tensor(batches[rows], dtype=torch.long, device=device).unsqueeze(1)
        px = module.generative(z=z, library=lib, batch_index=batch)["px"]
        out.append((px.scale * PER_COUNTS).float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, len(encoder.genes)), dtype=np.float32)
