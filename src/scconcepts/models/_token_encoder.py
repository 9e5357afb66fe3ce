"""What the token-model encoders (scGPT, Geneformer) share: their genes, device and raw-count input check."""

from __future__ import annotations

import numpy as np
import torch

from scconcepts._errors import InputError
from scconcepts.models._base import Encoder


class TokenEncoder(Encoder):
    """Base of encoders that tokenise raw counts of ``self._genes`` for a transformer ``self.model``."""

    model: torch.nn.Module
    _genes: list[str]

    @property
    def genes(self) -> list[str]:
        """Data gene names matched to the model's vocabulary, in input order."""
        return self._genes

    @property
    def device(self) -> torch.device:
        """Device of the transformer."""
        return next(self.model.parameters()).device

    def _counts(self, x: torch.Tensor | np.ndarray) -> np.ndarray:
        """``x`` as a numpy cells x :attr:`genes` array; refuses any other shape."""
        if isinstance(x, torch.Tensor):
            x = x.detach().cpu().numpy()
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != len(self._genes):
            raise InputError(f"expected cells x {len(self._genes)} expression values; got shape {x.shape}")
        return x
