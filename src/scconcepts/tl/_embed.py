"""``tl.embed``: embed cells with a model and store the embedding in ``obsm``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from anndata import AnnData

from scconcepts._errors import InputError
from scconcepts._keys import embedding_key
from scconcepts.models import Encoder
from scconcepts.models._registry import build_encoder

logger = logging.getLogger(__name__)


def embed(
    adata: AnnData,
    *,
    model: str | Encoder = "scvi",
    checkpoint: str | Path | None = None,
    key_added: str | None = None,
    layer: str | None = None,
    batch_size: int = 1024,
    **options: Any,
) -> Encoder:
    """Embed every cell with a model and store the embedding in ``adata.obsm["X_<model>"]``.

    Parameters
    ----------
    adata
        Cells x genes; raw counts in ``X`` (or ``layer``) for scVI.
    model
        A model family (``"scvi"``, or any name from :func:`scconcepts.models.available_models`), or an
        :class:`~scconcepts.models.Encoder` such as a :class:`~scconcepts.models.TorchEncoder`.
    checkpoint
        A saved model to load instead of training (scVI: a folder written by ``SCVI.save``).
    key_added
        ``obsm`` key to write; defaults to ``X_<model name>``.
    layer
        Layer holding the values the model reads; ``None`` uses ``X``.
    batch_size
        Cells per forward pass.
    **options
        Passed to the model family's builder (scVI: ``n_latent``, ``n_top_genes``, ``batch_key``, ``max_epochs``...).

    Returns
    -------
    The encoder, to re-encode perturbed cells later (attribution) or to save.

    """
    if adata.n_obs == 0:
        raise InputError("the data hold no cells; give at least one cell")
    if isinstance(model, Encoder):
        encoder = model
    elif isinstance(model, str):
        build_options = {**options, "layer": layer} if model == "scvi" else options
        encoder = build_encoder(model, adata, checkpoint=checkpoint, **build_options)
    else:
        raise InputError(f"model must be a model name or an Encoder, got {type(model).__name__}")
    key = key_added or embedding_key(encoder.name)
    adata.obsm[key] = encoder.embed(adata, batch_size=batch_size, layer=layer)
    logger.info(
        "embedded %d cells with %s into obsm[%r] (%d dimensions)",
        adata.n_obs,
        encoder.name,
        key,
        adata.obsm[key].shape[1],
    )
    return encoder
