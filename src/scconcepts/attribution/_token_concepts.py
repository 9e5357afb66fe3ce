"""Token concepts as an encoder: counts in, each cell's per-cell concept activations out (max over its gene tokens).

A concept learnt on gene-token states is read per cell as the max of its activation over the cell's gene tokens
(``obsm["X_<key>"]``, :func:`scconcepts.tl.train_token_sae`). :class:`TokenConceptEncoder` computes exactly that
from raw counts: it tokenises the cells as the transformer does, runs it up to the run's layer, keeps the token
sample the store kept (``max_tokens_per_cell``: the tokens of lowest hash of (cell seed, token id), so a perturbed
cell keeps the same tokens apart from the perturbed gene's), encodes each gene token with the token SAE and takes
the max over the cell's tokens. Its output *is* the concepts, so the attribution engine runs it with the identity
as components: perturbing a gene, re-running the transformer and re-encoding every gene token of the cell is the
counterfactual attribution of a token concept ("which genes cause it"), beside the per-gene token activation
("which gene tokens carry it"). The tokenisation is not differentiable, so only the exact engine applies.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import scipy.sparse as sp
import torch
from anndata import AnnData

from scconcepts._errors import InputError
from scconcepts.models._base import Encoder
from scconcepts.models._token_encoder import TokenEncoder
from scconcepts.models._token_states import cell_token_states, gene_columns
from scconcepts.models._tokens import cell_seeds

logger = logging.getLogger(__name__)


def identity(activations: torch.Tensor) -> torch.Tensor:
    """The components function of :class:`TokenConceptEncoder`: its output already holds the concepts."""
    return activations


class TokenConceptEncoder(Encoder):
    """Raw counts -> per-cell activations of token concepts (max over each cell's gene tokens).

    Parameters
    ----------
    encoder
        The scGPT or Geneformer encoder the token states were read from.
    components
        Token states -> concept activations (the token SAE's ``encode``).
    layer
        Layer the token states were read at (``layer_<i>``; default the encoder's).
    max_tokens_per_cell
        The store's token sample per cell (``None``: every gene token).
    token_seed
        Seed of that sample (``tl.token_activations(seed=...)``).

    """

    def __init__(
        self,
        encoder: TokenEncoder,
        components: Callable[[torch.Tensor], torch.Tensor],
        *,
        layer: str | None = None,
        max_tokens_per_cell: int | None = None,
        token_seed: int = 0,
    ) -> None:
        if not isinstance(encoder, TokenEncoder):
            raise InputError(f"token concepts need the transformer (scgpt or geneformer) their states came from; "
                             f"the {encoder.name} model has no gene tokens")  # fmt: skip
        self.inner = encoder
        self.components = components
        self.token_layer = encoder.layer if layer is None else str(layer)
        if self.token_layer not in encoder.layers():
            raise InputError(f"the {encoder.name} model has no layer {self.token_layer!r}; choose one of "
                             f"{', '.join(encoder.layers())}")  # fmt: skip
        self.max_tokens_per_cell = None if max_tokens_per_cell is None else int(max_tokens_per_cell)
        self.token_seed = int(token_seed)
        self.name = encoder.name
        self.layer = self.token_layer
        self._lookup = gene_columns(encoder)

    def layers(self) -> list[str]:
        """The one representation: token concepts at the run's layer."""
        return [self.token_layer]

    @property
    def default_layer(self) -> str:
        """The layer the token states were read at."""
        return self.token_layer

    @property
    def genes(self) -> list[str]:
        """The transformer's genes."""
        return self.inner.genes

    @property
    def device(self) -> torch.device:
        """Device of the transformer."""
        return self.inner.device

    def to(self, device: str | torch.device) -> TokenConceptEncoder:
        """Move the transformer (the token SAE is moved by its owner)."""
        self.inner.to(device)
        return self

    def expression(self, adata: AnnData, *, layer: str | None = None) -> sp.csr_matrix:
        """Raw counts of the transformer's genes (:meth:`Encoder.expression` of the transformer)."""
        return self.inner.expression(adata, layer=layer)

    def context(self, adata: AnnData) -> np.ndarray:
        """Per cell: whether the transformer has a context (1 or 0), that context and the seed of its token sample."""
        inner = self.inner.context(adata)
        codes = np.zeros((adata.n_obs, 3), dtype=np.int64)
        if inner is not None:
            codes[:, 0] = 1
            codes[:, 1] = np.asarray(inner, dtype=np.int64).reshape(-1)
        codes[:, 2] = cell_seeds(adata.obs_names, seed=self.token_seed)
        return codes

    @contextmanager
    def _at_layer(self) -> Iterator[None]:
        previous = self.inner.layer
        if previous != self.token_layer:
            self.inner.select_layer(self.token_layer)
        try:
            yield
        finally:
            if previous != self.token_layer:
                self.inner.select_layer(previous)

    def encode(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        """Per-cell concept activations (cells x concepts): max over each cell's (sampled) gene tokens, 0 without any.

        ``context`` is :meth:`context`'s three columns; without it the cells get the transformer's default context
        and token seed 0.
        """
        if isinstance(x, torch.Tensor) and x.requires_grad:
            raise InputError("token concepts are attributed with the exact engine (the tokenisation has no "
                             "gradient); use engine='exact' or 'auto'")  # fmt: skip
        n_cells = x.shape[0]
        if context is None:
            inner_context, seeds = None, np.zeros(n_cells, dtype=np.int64)
        else:
            codes = np.asarray(context.detach().cpu().numpy() if isinstance(context, torch.Tensor) else context)
            codes = codes.reshape(n_cells, 3).astype(np.int64)
            inner_context = codes[:, 1] if codes[:, 0].all() else None
            seeds = codes[:, 2]
        with self._at_layer():
            part = cell_token_states(self.inner, x, inner_context, lookup=self._lookup, seeds=seeds,
                                     max_tokens_per_cell=self.max_tokens_per_cell)  # fmt: skip
        return self._cell_max(part.states, part.cells, n_cells)

    @torch.no_grad()
    def _cell_max(self, states: np.ndarray, cells: np.ndarray, n_cells: int) -> torch.Tensor:
        """Encode the tokens and take each cell's max, as :func:`scconcepts.sae._token_concepts.token_concepts` does."""
        device = self.device
        z = self.components(torch.as_tensor(states, dtype=torch.float32, device=device))
        out = torch.zeros(n_cells, z.shape[1], dtype=z.dtype, device=z.device)
        index = torch.as_tensor(cells, dtype=torch.int64, device=z.device)[:, None].expand_as(z)
        return out.scatter_reduce_(0, index, z, reduce="amax", include_self=True)
