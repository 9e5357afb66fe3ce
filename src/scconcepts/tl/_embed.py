"""``tl.embed``: embed cells with a model and store the embedding in ``obsm``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from anndata import AnnData

from scconcepts._device import resolve_device
from scconcepts._errors import InputError
from scconcepts._threads import encoder_work, threads_by_size
from scconcepts.ds._lazy import is_lazy
from scconcepts.models import Encoder
from scconcepts.models._chunked import embed_lazy, embed_on_workers
from scconcepts.models._registry import build_encoder

logger = logging.getLogger(__name__)


def check_cells(adata: AnnData, model: str | Encoder, *, input_layer: str | None = None) -> None:
    """Refuse cells that ``model`` cannot embed, before anything slow is done with them.

    ``scconcepts run`` calls this right after reading the cells (before gene sets are loaded and gene
    names checked), :func:`embed` again. scVI trains on the whole matrix in memory and only on raw
    counts: a matrix left on disk, or values that are not non-negative integers (log-normalised,
    scaled), are refused in one line that names a layer holding counts when there is one.

    Parameters
    ----------
    adata
        The cells.
    model
        Model family name or encoder.
    input_layer
        Layer holding the values the model reads; ``None`` uses ``X``.

    Raises
    ------
    InputError
        No cells, an absent layer, or cells scVI cannot train on.

    """
    from scconcepts.ds._counts import require_counts

    if adata.n_obs == 0:
        raise InputError("the data hold no cells; give at least one cell")
    if input_layer is not None and input_layer not in adata.layers:
        raise InputError(f"the data have no layer {input_layer!r} (layers: {', '.join(adata.layers) or 'none'})")
    if model != "scvi":
        return
    if is_lazy(adata):
        raise InputError(
            "scVI trains on the whole matrix, which was left on disk (read lazily); use a pre-trained model "
            "(torch, scgpt, geneformer with a checkpoint) or load the matrix (--no-backed)"
        )
    require_counts(adata, who="scVI", layer=input_layer)


@threads_by_size(encoder_work)
def embed(
    adata: AnnData,
    *,
    model: str | Encoder = "scvi",
    checkpoint: str | Path | None = None,
    key_added: str | None = None,
    layer: str | None = None,
    input_layer: str | None = None,
    batch_size: int = 1024,
    client: Any = None,
    device: str | None = None,
    **options: Any,
) -> Encoder:
    """Embed every cell with a model and store the embedding in ``adata.obsm["X_<model>"]``.

    Parameters
    ----------
    adata
        Cells x genes; raw counts in ``X`` (or ``layers[input_layer]``) for scVI.
    model
        A model family (``"scvi"``, or any name from :func:`scconcepts.models.available_models`), or an
        :class:`~scconcepts.models.Encoder` such as a :class:`~scconcepts.models.TorchEncoder`.
    checkpoint
        A saved model to load instead of training (scVI: a folder written by ``SCVI.save``).
    key_added
        ``obsm`` key to write; defaults to ``X_<model name>`` (``X_<model name>_<layer>`` for a layer other
        than the model's default).
    layer
        The model's representation to return (``None``: its usual cell embedding). scVI: ``latent`` (default),
        ``hidden`` (the encoder's last hidden layer), ``hidden_<i>``; scGPT: ``layer_1`` ... ``layer_<n>``
        (default the last); Geneformer: ``layer_0`` ... ``layer_<n>`` (default ``layer_<n-1>``). The encoder
        keeps the choice: attribution and saving follow it.
    input_layer
        AnnData layer holding the values the model reads (e.g. ``"counts"``); ``None`` uses ``X``.
    batch_size
        Cells per forward pass.
    client
        A ``dask.distributed`` client: the cells are embedded in chunks on its workers (the encoder sent to
        each worker once); the result equals embedding here. ``None`` embeds in this process.
    device
        Torch device the model trains and runs on: ``"auto"`` (the first CUDA GPU when torch sees one,
        else the CPU), ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``; a GPU that is not there is refused
        (:class:`~scconcepts.InputError`). ``None`` leaves the model where its family puts it (scVI trains on
        a GPU when there is one; loaded models and a given encoder stay where they are).
    **options
        Passed to the model family's builder (scVI: ``n_latent``, ``n_top_genes``, ``batch_key``, ``max_epochs``...).

    Returns
    -------
    The encoder, to re-encode perturbed cells later (attribution) or to save.

    """
    check_cells(adata, model, input_layer=input_layer)
    target = None if device is None else resolve_device(device)
    if isinstance(model, Encoder):
        encoder = model
    elif isinstance(model, str):
        build_options = {**options, "input_layer": input_layer} if model == "scvi" else dict(options)
        if model == "scvi" and target is not None:
            build_options["device"] = target  # scVI trains there (other families are built, then moved)
        if layer is not None:
            build_options["layer"] = layer
        try:
            encoder = build_encoder(model, adata, checkpoint=checkpoint, **build_options)
        except InputError as error:
            raise _explain_data_layer(error, layer, adata) from None
    else:
        raise InputError(f"model must be a model name or an Encoder, got {type(model).__name__}")
    if target is not None:
        encoder.to(target)
    if layer is not None and encoder.layer != layer:
        try:
            encoder.select_layer(layer)
        except InputError as error:
            raise _explain_data_layer(error, layer, adata) from None
    key = key_added or encoder.obsm_key
    if is_lazy(adata):  # the matrix stays on disk: chunk by chunk (ds.read(..., backed=True))
        if input_layer is not None:
            raise InputError("cells read lazily carry one matrix: choose the layer when reading (layer=...)")
        adata.obsm[key] = embed_lazy(encoder, adata, client=client, batch_size=batch_size)
    elif client is None:
        adata.obsm[key] = encoder.embed(adata, batch_size=batch_size, input_layer=input_layer)
    else:
        adata.obsm[key] = embed_on_workers(
            encoder, adata, client=client, input_layer=input_layer, batch_size=batch_size
        )
    logger.info(
        "embedded %d cells with %s (layer %s) into obsm[%r] (%d dimensions)",
        adata.n_obs,
        encoder.name,
        encoder.layer,
        key,
        adata.obsm[key].shape[1],
    )
    return encoder


def _explain_data_layer(error: InputError, layer: str | None, adata: AnnData) -> InputError:
    """Add a hint when ``layer`` names one of the data's layers (``layer`` names the model's representation)."""
    if layer is not None and layer in adata.layers and "no layer" in str(error):
        return InputError(
            f"{error}. {layer!r} is a layer of the data: pass it as input_layer= (CLI: --input-layer); "
            "layer= names the model's representation"
        )
    return error
