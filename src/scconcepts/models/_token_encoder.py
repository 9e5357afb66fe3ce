"""What the token-model encoders (scGPT, Geneformer) share: genes, device, raw-count input check, layer names.

A representation is named ``layer_<i>``: the cell embedding (the model's pooling) of the output of
transformer layer ``i``, counted from 1 at the input (``layer_0``, where a model offers it, is the input
embedding before any transformer layer).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from scconcepts._errors import InputError
from scconcepts.models._base import Encoder


@dataclass
class StateChunk:
    """Per-token states of one forward pass: cells of similar length, at the encoder's layer."""

    #: The cells' rows in the token batch given to :meth:`TokenEncoder.token_states`.
    rows: np.ndarray
    #: ``cells x length x d`` states (``cells x 1 x d``, the first position only, with ``first_only``).
    states: torch.Tensor
    #: ``cells x length`` token ids.
    ids: torch.Tensor
    #: ``cells x length`` boolean, ``True`` at gene tokens (not special, not padding).
    genes: torch.Tensor
    #: Position of ``<cls>`` in every cell (0), or ``None`` for inputs without it.
    cls_position: int | None


class TokenEncoder(Encoder):
    """Base of encoders that tokenise raw counts of ``self._genes`` for a transformer ``self.model``."""

    model: torch.nn.Module
    _genes: list[str]
    #: Smallest layer number offered (0 where the input embedding makes a meaningful cell embedding).
    first_layer: int = 1

    @property
    def n_transformer_layers(self) -> int:
        """Transformer layers of the full model."""
        raise NotImplementedError

    def layers(self) -> list[str]:
        """``layer_<i>`` for every transformer layer whose output can be read."""
        return [layer_name(i) for i in range(self.first_layer, self.n_transformer_layers + 1)]

    @property
    def layer_number(self) -> int:
        """Number of the transformer layer whose output is read (counted from 1 at the input)."""
        return int(self.layer.rsplit("_", 1)[1])

    @property
    def genes(self) -> list[str]:
        """Data gene names matched to the model's vocabulary, in input order."""
        return self._genes

    @property
    def device(self) -> torch.device:
        """Device of the transformer."""
        return next(self.model.parameters()).device

    def to(self, device: str | torch.device) -> TokenEncoder:
        """Move the transformer to ``device``."""
        self.model.to(device)
        return self

    def cell_tokens(self, x: torch.Tensor | np.ndarray, context: torch.Tensor | np.ndarray | None = None) -> object:
        """The padded token batch of raw counts (cells x :attr:`genes`) with their context (:meth:`context`)."""
        raise NotImplementedError

    def token_states(self, tokens: object, *, first_only: bool = False) -> Iterator[StateChunk]:
        """Run the transformer up to :attr:`layer` on a token batch, one pass per group of cells of similar length.

        The one forward path of the encoder: :meth:`encode_tokens` pools these states into cell embeddings,
        :func:`~scconcepts.models._token_states.cell_token_states` keeps them per token.
        """
        raise NotImplementedError

    def pool(self, chunk: StateChunk) -> torch.Tensor:
        """The cell embeddings (``cells x d``, in ``chunk.rows`` order) of one forward pass: the encoder's pooling."""
        raise NotImplementedError

    def layer_output(self, number: int) -> torch.nn.Module:
        """The module whose output (the first element of a tuple) is the token states of layer ``number``.

        A forward hook on it reads that layer in the pass that runs to a deeper one
        (:func:`~scconcepts.models._layer_states.layer_states`).
        """
        raise NotImplementedError

    def _counts(self, x: torch.Tensor | np.ndarray) -> np.ndarray:
        """``x`` as a numpy cells x :attr:`genes` array; refuses any other shape."""
        if isinstance(x, torch.Tensor):
            x = x.detach().cpu().numpy()
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != len(self._genes):
            raise InputError(f"expected cells x {len(self._genes)} expression values; got shape {x.shape}")
        return x


def layer_name(number: int) -> str:
    """Name of the representation after transformer layer ``number`` (``layer_<number>``)."""
    return f"layer_{number}"
