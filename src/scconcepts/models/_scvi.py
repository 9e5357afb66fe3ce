"""scVI (scvi-tools) as an encoder: embedding = posterior mean of the latent; decoding through its generative side.

Training and loading a model: :mod:`scconcepts.models._scvi_train`.

Other representations: ``hidden_1`` ... ``hidden_n``, the outputs of the encoder's fully connected layers
(after the activation; ``hidden`` is the last of them), so that concepts can be sought before the bottleneck.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from anndata import AnnData
from torch import nn

from scconcepts._errors import InputError
from scconcepts.models._base import Encoder, LinearFirstLayer

logger = logging.getLogger(__name__)

SCVI_FOLDER = "scvi"
#: Representation names: the latent posterior mean, and the encoder's hidden layers (``hidden_1``...).
LATENT = "latent"
HIDDEN = "hidden"


class ScviEncoder(Encoder):
    """The encoder network of a trained scvi-tools ``SCVI`` model.

    :meth:`encode` reproduces ``SCVI.get_latent_representation()`` (the posterior mean ``qz.loc``)
    as a differentiable function of raw counts, so that perturbed cells can be re-encoded.

    Parameters
    ----------
    model
        A trained ``scvi.model.SCVI``.
    batch_key
        ``obs`` column holding the batch the model was set up with, if any.

    """

    name = "scvi"
    requires_counts = True
    layer = LATENT

    def __init__(self, model: Any, *, batch_key: str | None = None, layer: str | None = None) -> None:
        self.model = model
        self.batch_key = batch_key
        self._genes = [str(g) for g in model.adata.var_names]
        self._batches = _batch_categories(model)
        module = model.module.eval()
        self._z_encoder = module.z_encoder
        self._log_variational = bool(module.log_variational)
        self._fc = module.z_encoder.encoder
        self._stop: int | None = None
        self.select_layer(layer)

    def layers(self) -> list[str]:
        """``latent`` (the posterior mean, default), ``hidden`` (last hidden layer), ``hidden_1`` ... ``hidden_n``."""
        n_hidden = len(self._fc.fc_layers)
        return [LATENT, HIDDEN, *(f"{HIDDEN}_{i + 1}" for i in range(n_hidden))]

    def _use_layer(self, name: str) -> None:
        n_hidden = len(self._fc.fc_layers)
        self._stop = None if name == LATENT else n_hidden - 1 if name == HIDDEN else int(name.rsplit("_", 1)[1]) - 1

    @property
    def genes(self) -> list[str]:
        """Genes the scVI model was trained on, in its input order."""
        return self._genes

    @property
    def device(self) -> torch.device:
        """Device of the model's parameters."""
        return next(self.model.module.parameters()).device

    def to(self, device: str | torch.device) -> ScviEncoder:
        """Move the scVI model to ``device``."""
        self.model.to_device(torch.device(device))
        return self

    def context(self, adata: AnnData) -> np.ndarray | None:
        """Return batch codes in the model's category order when the encoder reads the batch."""
        if not self._uses_batch():
            return None
        if self.batch_key is None or self.batch_key not in adata.obs:
            raise InputError(f"the scVI model encodes the batch; the data need obs[{self.batch_key!r}]")
        codes = np.asarray([self._batches.index(b) if b in self._batches else -1 for b in adata.obs[self.batch_key]])
        if (codes < 0).any():
            unknown = sorted(set(adata.obs[self.batch_key][codes < 0].astype(str)))[:3]
            raise InputError(f"batches {unknown} were not seen when the scVI model was trained")
        return codes

    def _uses_batch(self) -> bool:
        return any(n > 1 for n in self._fc.n_cat_list)

    def _covariates(self, context: torch.Tensor | None) -> list[torch.Tensor]:
        if not self._uses_batch():
            return []
        if context is None:
            raise InputError("the scVI model encodes the batch; pass the batch codes as context")
        n_batch = next(n for n in self._fc.n_cat_list if n > 1)
        return [nn.functional.one_hot(context.long().reshape(-1), n_batch).float()]

    def _input(self, x: torch.Tensor) -> torch.Tensor:
        return torch.log1p(x) if self._log_variational else x

    def _run_layers(self, h: torch.Tensor, covariates: list[torch.Tensor], *, skip_first_linear: bool) -> torch.Tensor:
        """Run the encoder's fully connected layers as scvi-tools does (covariates injected per layer).

        Returns the latent posterior mean, or the output of hidden layer ``self._stop`` when a hidden layer
        is the selected representation.
        """
        for i, layers in enumerate(self._fc.fc_layers):
            for j, layer in enumerate(layers):
                if layer is None:
                    continue
                if isinstance(layer, nn.Linear):
                    if i == 0 and j == 0 and skip_first_linear:
                        continue
                    if covariates and self._fc.inject_into_layer(i):
                        h = torch.cat((h, *covariates), dim=-1)
                h = layer(h)
            if i == self._stop:
                return h
        return self._z_encoder.mean_encoder(h)

    def encode(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        """Posterior mean of the latent (or the selected hidden layer) for raw counts ``x`` (cells x genes)."""
        return self._run_layers(self._input(x), self._covariates(context), skip_first_linear=False)

    def linear_first_layer(self) -> LinearFirstLayer:
        """First layer = ``Linear([log1p(x), batch one-hot])``: a rank-1 update per perturbed gene."""
        first = self._fc.fc_layers[0][0]
        n_genes = len(self._genes)

        def pre_activation(x: torch.Tensor, context: torch.Tensor | None) -> torch.Tensor:
            covariates = self._covariates(context) if self._fc.inject_into_layer(0) else []
            return first(torch.cat((self._input(x), *covariates), dim=-1))

        def rest(pre: torch.Tensor, context: torch.Tensor | None) -> torch.Tensor:
            return self._run_layers(pre, self._covariates(context), skip_first_linear=True)

        transform = torch.log1p if self._log_variational else (lambda v: v)
        return LinearFirstLayer(transform, first.weight[:, :n_genes].detach(), pre_activation, rest)

    decodes_to = "normalised expression (scVI's decoder scale, per 10,000 counts)"
    #: Pseudo-count (per 10,000 counts) added before fold changes of decoded values.
    decode_pseudo_count = 0.01

    def decode_expression(self, embedding: np.ndarray, adata: AnnData, *, batch_size: int = 1024) -> np.ndarray:
        """Decode embeddings through scVI's generative model (:func:`decode_scvi`)."""
        return decode_scvi(self, embedding, adata, batch_size=batch_size)

    def save(self, path: str | Path) -> None:
        """Save the scvi-tools model (``path/scvi``) and ``encoder.json``."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.model.save(str(path / SCVI_FOLDER), save_anndata=False, overwrite=True)
        info = {
            "model": self.name,
            "batch_key": self.batch_key,
            "batches": self._batches,
            "genes": len(self._genes),
            "layer": self.layer,
        }
        (path / "encoder.json").write_text(json.dumps(info, indent=2))


def _batch_categories(model: Any) -> list[str]:
    registry = model.adata_manager.get_state_registry("batch")
    return [str(c) for c in registry.categorical_mapping]


#: Normalised expression is reported per this many counts (scale x 10,000).
PER_COUNTS = 1e4


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
