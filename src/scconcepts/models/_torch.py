"""Wrap any ``torch.nn.Module`` that maps expression of known genes to embeddings."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from anndata import AnnData
from torch import nn

from scconcepts._errors import InputError
from scconcepts.models._base import Encoder, LinearFirstLayer


class TorchEncoder(Encoder):
    """An encoder from a user's PyTorch module.

    Parameters
    ----------
    module
        Maps a float tensor (cells x ``len(genes)``, values as stored in the AnnData) to embeddings.
    genes
        Gene names the module reads, in its input order.
    name
        Stem of the ``obsm`` key the embedding is stored under (``X_<name>``).
    device
        Device to run the module on.
    decoder
        Optional generative side: a module mapping embeddings back to expression of ``genes`` (what
        :func:`scconcepts.tl.steer` decodes a steered concept through).

    """

    def __init__(
        self,
        module: nn.Module,
        genes: Sequence[str],
        *,
        name: str = "torch",
        device: str = "cpu",
        decoder: nn.Module | None = None,
    ) -> None:
        genes = [str(g) for g in genes]
        if not genes:
            raise InputError("TorchEncoder needs at least one gene name")
        if len(set(genes)) != len(genes):
            raise InputError("TorchEncoder gene names must be unique")
        self.module = module.to(device).eval()
        self._genes = genes
        self._device = torch.device(device)
        self.name = name
        self.decoder = None if decoder is None else decoder.to(device).eval()
        self.decodes_to = None if decoder is None else "expression (the module's decoder)"

    @property
    def genes(self) -> list[str]:
        """Names of the genes the module reads, in input order."""
        return self._genes

    @property
    def device(self) -> torch.device:
        """Device on which the module runs."""
        return self._device

    def encode(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        """Run the module on an expression batch (``context`` is ignored)."""
        return self.module(x)

    @torch.no_grad()
    def decode_expression(self, embedding: np.ndarray, adata: AnnData, *, batch_size: int = 1024) -> np.ndarray:
        """Run the decoder module on the embeddings (``adata`` is not used); InputError without a decoder."""
        if self.decoder is None:
            return super().decode_expression(embedding, adata, batch_size=batch_size)
        out = []
        for start in range(0, embedding.shape[0], batch_size):
            batch = torch.as_tensor(np.asarray(embedding[start : start + batch_size], dtype=np.float32))
            out.append(self.decoder(batch.to(self._device)).float().cpu().numpy())
        decoded = np.concatenate(out) if out else np.zeros((0, len(self._genes)), dtype=np.float32)
        if decoded.shape[1] != len(self._genes):
            raise InputError(
                f"the decoder returns {decoded.shape[1]} values per cell; the encoder reads {len(self._genes)} genes"
            )
        return decoded

    def linear_first_layer(self) -> LinearFirstLayer | None:
        """Split an ``nn.Sequential`` whose first layer is ``nn.Linear``; ``None`` for other modules."""
        if not isinstance(self.module, nn.Sequential) or not isinstance(self.module[0], nn.Linear):
            return None
        first, rest = self.module[0], self.module[1:]
        return LinearFirstLayer(
            transform=lambda x: x,
            weight=first.weight.detach(),
            pre_activation=lambda x, context: first(x),
            rest=lambda pre, context: rest(pre),
        )
