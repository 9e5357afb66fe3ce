"""The one protocol every encoder follows: genes in, a differentiable map to embeddings, embeddings out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch
from anndata import AnnData

from scconcepts._errors import InputError
from scconcepts._progress import progress

MIN_MATCHED_GENES = 10


@dataclass(frozen=True)
class LinearFirstLayer:
    """An encoder whose first layer is linear in a per-gene transform of the input.

    ``pre_activation(x, context)`` equals ``transform(x) @ weight.T`` plus terms that do not depend
    on ``x`` (bias, covariates), and ``rest(pre, context)`` maps that pre-activation to the embedding, so
    that ``rest(pre_activation(x, context), context) == encoder.encode(x, context)``. Changing gene ``g`` from
    ``a`` to ``b`` moves the pre-activation by ``weight[:, g] * (transform(b) - transform(a))``:
    attribution uses that rank-1 update instead of recomputing the first layer.

    Attributes
    ----------
    transform
        Element-wise map applied to the expression values (``log1p`` for scVI, identity otherwise).
    weight
        ``hidden x n_genes`` weights acting on the transformed expression.
    pre_activation
        ``(x, context) -> hidden`` pre-activation of the first layer.
    rest
        ``(hidden, context) -> embedding``: everything after the first linear layer.

    """

    transform: Callable[[torch.Tensor], torch.Tensor]
    weight: torch.Tensor
    pre_activation: Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor]
    rest: Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor]


class Encoder(ABC):
    """A model that maps expression of its genes to cell embeddings.

    Subclasses set :attr:`name` (the ``obsm`` key stem, e.g. ``"scvi"`` -> ``X_scvi``), expose the
    genes they read in :attr:`genes`, and implement :meth:`encode`, a differentiable function from
    an expression batch (cells x :attr:`genes`, values as the AnnData stores them) to embeddings.
    Attribution re-encodes perturbed copies of cells through :meth:`encode`.
    """

    name: str = "encoder"
    #: Whether :meth:`expression` demands non-negative integer counts (scVI does).
    requires_counts: bool = False
    #: The representation :meth:`encode` returns, one of :meth:`layers` (see :meth:`select_layer`).
    layer: str = "embedding"

    def layers(self) -> list[str]:
        """Names of the representations this encoder can return (``tl.embed(..., layer=NAME)``)."""
        return [self.default_layer]

    @property
    def default_layer(self) -> str:
        """The representation returned unless another is chosen (the model's usual cell embedding)."""
        return type(self).layer

    def select_layer(self, name: str | None) -> None:
        """Make :meth:`encode` return the representation ``name`` (``None``: the default).

        Raises :class:`InputError` naming the representations that exist when ``name`` is not one of them.
        """
        name = self.default_layer if name is None else str(name)
        if name not in self.layers():
            raise InputError(f"the {self.name} model has no layer {name!r}; choose one of {', '.join(self.layers())}")
        self._use_layer(name)
        self.layer = name

    def _use_layer(self, name: str) -> None:  # noqa: B027 (optional hook: one-representation encoders need none)
        """Switch the forward pass to the representation ``name`` (already validated); subclasses override."""

    @property
    def obsm_key(self) -> str:
        """``obsm`` key of this encoder's embedding: ``X_<name>``, or ``X_<name>_<layer>`` for another layer."""
        return f"X_{self.name}" if self.layer == self.default_layer else f"X_{self.name}_{self.layer}"

    @property
    @abstractmethod
    def genes(self) -> list[str]:
        """Names of the genes the model reads, in input order."""

    @property
    def device(self) -> torch.device:
        """Device on which :meth:`encode` runs."""
        return torch.device("cpu")

    def to(self, device: str | torch.device) -> Encoder:
        """Move the model to ``device`` and return the encoder (one without torch weights runs on the CPU only)."""
        if torch.device(device).type != "cpu":
            raise InputError(f"the {self.name} encoder runs on the CPU only, not on {device}")
        return self

    @abstractmethod
    def encode(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        """Map an expression batch (cells x :attr:`genes`) to embeddings (cells x dim).

        Parameters
        ----------
        x
            Float tensor of expression values for :attr:`genes`, as stored in the AnnData.
        context
            Optional per-cell integer codes (e.g. batch) from :meth:`context`.

        Returns
        -------
        Cells x embedding-dimension tensor; differentiable with respect to ``x`` where the model is.

        """

    def context(self, adata: AnnData) -> np.ndarray | None:
        """Return per-cell integer covariate codes the model needs (e.g. batch), or ``None``."""
        return None

    def linear_first_layer(self) -> LinearFirstLayer | None:
        """Return the first-layer decomposition used by fast attribution, or ``None`` if it has none."""
        return None

    def expression(self, adata: AnnData, *, layer: str | None = None) -> sp.csr_matrix:
        """Return the cells x :attr:`genes` matrix the model reads, aligned by gene name.

        Genes of the model that the data lack are zero. Raises :class:`InputError` when too few of
        the model's genes are in the data, or when the model needs counts and the data are not counts.

        Parameters
        ----------
        adata
            Cells to read; gene names in ``adata.var_names``.
        layer
            Layer holding the values; ``None`` uses ``adata.X``.

        """
        matrix = adata.X if layer is None else adata.layers[layer]
        index = adata.var_names.get_indexer(self.genes)
        matched = int((index >= 0).sum())
        if matched < min(MIN_MATCHED_GENES, len(self.genes)):
            raise InputError(
                f"only {matched} of the model's {len(self.genes)} genes are in the data "
                f"(e.g. {', '.join(self.genes[:3])}); check that var_names use the same gene identifiers"
            )
        matrix = sp.csr_matrix(matrix, dtype=np.float32)
        columns = sp.csr_matrix(
            (np.ones(matched, dtype=np.float32), (index[index >= 0], np.flatnonzero(index >= 0))),
            shape=(adata.n_vars, len(self.genes)),
        )
        aligned = (matrix @ columns).tocsr()
        check_finite(aligned.data, what="expression values")
        if self.requires_counts:
            check_counts(aligned.data, model=self.name)
        return aligned

    def embed(self, adata: AnnData, *, batch_size: int = 1024, input_layer: str | None = None) -> np.ndarray:
        """Embed every cell of ``adata`` (values from ``layers[input_layer]`` or ``X``) into the selected layer.

        Returns a cells x dim float32 array.
        """
        x = self.expression(adata, layer=input_layer)
        if x.shape[0] == 0:
            raise InputError("the data hold no cells; give at least one cell")
        return self.embed_rows(x, self.context(adata), batch_size=batch_size, show_progress=True)

    @torch.no_grad()
    def embed_rows(
        self, x: sp.csr_matrix, context: np.ndarray | None, *, batch_size: int = 1024, show_progress: bool = False
    ) -> np.ndarray:
        """Embed the rows of an aligned expression matrix (:meth:`expression`) with their covariate codes."""
        chunks = []
        starts = range(0, x.shape[0], batch_size)
        for start in progress(starts, desc=f"embedding with {self.name}", disable=not show_progress or len(starts) < 4):
            stop = start + batch_size
            batch = torch.as_tensor(x[start:stop].toarray(), device=self.device)
            ctx = None if context is None else torch.as_tensor(context[start:stop], device=self.device)
            chunks.append(self.encode(batch, ctx).float().cpu().numpy())
        return np.concatenate(chunks)

    #: What :meth:`decode_expression` returns (``None``: the model has no expression decoder).
    decodes_to: str | None = None
    #: Pseudo-count added to decoded values before fold changes (in their unit).
    decode_pseudo_count: float = 1e-4

    def decode_expression(self, embedding: np.ndarray, adata: AnnData, *, batch_size: int = 1024) -> np.ndarray:
        """Map embeddings of the cells of ``adata`` (same rows, same order) to expression of :attr:`genes`.

        Models with a generative side (scVI's decoder, scGPT's expression heads, a :class:`TorchEncoder`
        given a decoder) override this; the others raise :class:`InputError`.

        Parameters
        ----------
        embedding
            Cells x embedding-dimension array, one row per cell of ``adata``.
        adata
            The cells the embeddings belong to (their library size and batch, where the model uses them).
        batch_size
            Cells decoded at once.

        Returns
        -------
        Cells x :attr:`genes` float array, in the unit of :attr:`decodes_to`.

        """
        raise InputError(
            f"the {self.name} model has no expression decoder, so a steered concept cannot be decoded to genes; "
            "steer the embedding only (--embedding-only / expression=False) or use scVI, or scGPT with its "
            "MVC decoder weights"
        )

    def save(self, path: str | Path) -> None:
        """Save the encoder (or a reference to its checkpoint) into the folder ``path``."""
        raise NotImplementedError(f"{type(self).__name__} cannot be saved")


def check_finite(values: np.ndarray, *, what: str) -> None:
    """Raise :class:`InputError` when ``values`` hold NaN or infinity."""
    if values.size and not np.isfinite(values).all():
        n_bad = int((~np.isfinite(values)).sum())
        raise InputError(f"{what} contain {n_bad} NaN or infinite values; remove or impute them first")


def check_counts(values: np.ndarray, *, model: str) -> None:
    """Raise :class:`InputError` unless ``values`` are non-negative integers (raw counts)."""
    sample = values[:1_000_000]
    if (sample < 0).any() or not np.allclose(sample, np.round(sample)):
        raise InputError(
            f"{model} needs raw integer counts but the data hold non-integer or negative values "
            "(log-normalised?); put raw counts in X or pass the layer that holds them"
        )
