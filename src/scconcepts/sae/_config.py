"""Configuration of a Top-K sparse autoencoder and its training."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from scconcepts._errors import InputError


@dataclass
class SAEConfig:
    """Architecture and training settings of a Top-K SAE.

    Parameters
    ----------
    expansion
        Dictionary size as a multiple of the embedding dimension.
    k
        Active latents per cell; ``None`` picks ``max(1, d_in // 2)`` capped at 32.
    aux_k
        Latents the AuxK loss revives per step; ``None`` uses ``d_in // 2``.
    aux_coef
        Weight of the AuxK loss.
    dead_after
        A latent that has not fired for this many training cells counts as dead for AuxK;
        ``None`` uses one epoch (capped at 1,000,000 cells).
    lr
        Adam learning rate (decayed to 10% by a cosine schedule).
    batch_size
        Cells per minibatch (capped at the number of training cells).
    epochs
        Maximum passes over the training cells.
    patience
        Stop after this many epochs without a better validation loss.
    val_fraction
        Share of cells held out for validation, early stopping and metrics.
    batch_topk
        Use BatchTopK: keep the ``k * batch`` largest activations of a minibatch during training,
        and a learned threshold at inference.
    sparse_backward
        Use the sparse Top-K backward (gradients only through the selected latents).
    seed
        Random seed (initialisation, split, shuffling).
    device
        Torch device for training.

    """

    expansion: int = 8
    k: int | None = None
    aux_k: int | None = None
    aux_coef: float = 1 / 32
    dead_after: int | None = None
    lr: float = 4e-3
    batch_size: int = 256
    epochs: int = 400
    patience: int = 40
    val_fraction: float = 0.2
    batch_topk: bool = False
    sparse_backward: bool = True
    seed: int = 0
    device: str = "cpu"

    def resolved(self, d_in: int) -> SAEConfig:
        """Return a copy with ``k`` and ``aux_k`` filled in for embedding dimension ``d_in``, validated."""
        k = self.k if self.k is not None else max(1, min(32, d_in // 2))
        aux_k = self.aux_k if self.aux_k is not None else max(1, d_in // 2)
        config = SAEConfig(**{**asdict(self), "k": k, "aux_k": aux_k})
        config.validate(d_in)
        return config

    def validate(self, d_in: int) -> None:
        """Raise :class:`InputError` for settings that cannot work with embedding dimension ``d_in``."""
        if self.expansion < 1:
            raise InputError(f"expansion must be at least 1, got {self.expansion}")
        n_latents = self.expansion * d_in
        if self.k is not None and not 1 <= self.k <= n_latents:
            raise InputError(f"k={self.k} must be between 1 and the dictionary size {n_latents} (expansion x dim)")
        if not 0 < self.val_fraction < 1:
            raise InputError(f"val_fraction must be between 0 and 1, got {self.val_fraction}")
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise InputError("epochs, batch_size and lr must be positive")

    def to_dict(self) -> dict[str, Any]:
        """Return the settings as a JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> SAEConfig:
        """Build a config from :meth:`to_dict` output, ignoring unknown keys."""
        names = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in values.items() if key in names})
