"""Train an scVI model on counts, or load one: a saved scvi-tools folder, or an encoder saved by ``save``."""

from __future__ import annotations

import contextlib
import io
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from anndata import AnnData

from scconcepts._errors import InputError
from scconcepts._quiet import quiet_libraries
from scconcepts.models._base import check_counts, check_finite
from scconcepts.models._hvg import select_variable_genes
from scconcepts.models._scvi import HIDDEN, LATENT, SCVI_FOLDER, ScviEncoder

logger = logging.getLogger(__name__)

MIN_CELLS = 20


def _check_layer_name(layer: str | None, n_hidden: int | None) -> None:
    """Refuse a representation name scVI cannot return before any training (``n_hidden`` unknown: name only)."""
    if layer is None or layer in (LATENT, HIDDEN):
        return
    prefix, _, number = layer.rpartition("_")
    if prefix == HIDDEN and number.isdigit() and int(number) >= 1 and (n_hidden is None or int(number) <= n_hidden):
        return
    hidden = f"{HIDDEN}_1" if n_hidden == 1 else f"{HIDDEN}_1 ... {HIDDEN}_{n_hidden or 'n'}"
    raise InputError(f"the scvi model has no layer {layer!r}; choose one of {LATENT}, {HIDDEN}, {hidden}")


def _counts_for(adata: AnnData, genes: list[str] | None, input_layer: str | None) -> AnnData:
    """Return a copy of ``adata`` with raw counts in ``X`` (optionally restricted to ``genes``), validated."""
    if adata.n_obs == 0:
        raise InputError("the data hold no cells; give at least one cell")
    if input_layer is not None and input_layer not in adata.layers:
        raise InputError(f"the data have no layer {input_layer!r} (layers: {', '.join(adata.layers) or 'none'})")
    values = adata.X if input_layer is None else adata.layers[input_layer]
    counts = AnnData(X=sp.csr_matrix(values, dtype=np.float32), obs=adata.obs.copy(), var=adata.var[[]].copy())
    check_finite(counts.X.data, what="expression values")
    check_counts(counts.X.data, model="scVI")
    if genes is not None:
        counts = counts[:, [g for g in genes if g in counts.var_names]].copy()
    return counts


@quiet_libraries()
def build_scvi(
    adata: AnnData,
    *,
    checkpoint: str | Path | None = None,
    n_latent: int = 10,
    n_top_genes: int = 2000,
    batch_key: str | None = None,
    input_layer: str | None = None,
    layer: str | None = None,
    max_epochs: int | None = None,
    early_stopping: bool = True,
    seed: int = 0,
    device: torch.device | str | None = None,
    **model_kwargs: Any,
) -> ScviEncoder:
    """Train an scVI model on the counts of ``adata``, or load a saved scvi-tools model folder.

    Parameters
    ----------
    adata
        Cells with raw integer counts in ``X`` (or ``input_layer``).
    checkpoint
        A folder written by ``SCVI.save``; when given, nothing is trained.
    n_latent
        Dimension of the latent space (the embedding).
    n_top_genes
        Highly variable genes to train on (see :func:`~scconcepts.models._hvg.select_variable_genes`);
        all expressed genes if the data have fewer.
    batch_key
        ``obs`` column of batches for scVI to correct for.
    input_layer
        AnnData layer holding raw counts; ``None`` uses ``X``.
    layer
        Representation the encoder returns: ``latent`` (default), ``hidden`` or ``hidden_<i>``.
    max_epochs
        Most training epochs; ``None`` uses scvi-tools' default for the data size.
    early_stopping
        Stop when the validation ELBO stops improving (scvi-tools' early stopping), rather than
        always running ``max_epochs``.
    seed
        Random seed of scvi-tools.
    device
        Torch device to train on (``None``: a GPU when torch sees one, else the CPU).
    **model_kwargs
        Passed to ``scvi.model.SCVI``.

    """
    import scvi

    from scconcepts.models._lightning_progress import EpochProgress

    if batch_key is not None and batch_key not in adata.obs:
        raise InputError(f"batch key {batch_key!r} is not a column of obs; choose one of {list(adata.obs.columns)}")
    _check_layer_name(layer, int(model_kwargs.get("n_layers", 1)) if checkpoint is None else None)
    if checkpoint is not None:
        return _load_pretrained(adata, Path(checkpoint), input_layer=input_layer, batch_key=batch_key, layer=layer)
    counts = _counts_for(adata, None, input_layer)
    scvi.settings.seed = seed
    if counts.n_obs < MIN_CELLS:
        raise InputError(f"scVI needs at least {MIN_CELLS} cells to train; the data hold {counts.n_obs}")
    counts = select_variable_genes(counts, n_top_genes, batch_key=batch_key)
    if batch_key is not None:
        counts.obs[batch_key] = counts.obs[batch_key].astype(str).astype("category")
    scvi.model.SCVI.setup_anndata(counts, batch_key=batch_key)
    model = scvi.model.SCVI(counts, n_latent=n_latent, **model_kwargs)
    logger.info("training scVI on %d cells x %d genes (latent %d)", counts.n_obs, counts.n_vars, n_latent)
    printed = io.StringIO()
    try:
        # scvi-tools prints "Exception raised during training. <class 'NameError'> ..." whatever was raised
        # (e.g. a stop signal): keep its prints out of the output, in the debug log
        with contextlib.redirect_stdout(printed):
            model.train(
                max_epochs=max_epochs,
                **_lightning_device(device),
                early_stopping=early_stopping,
                enable_progress_bar=False,
                enable_model_summary=False,
                enable_checkpointing=False,
                callbacks=[EpochProgress("training scVI")],
            )
    finally:
        if printed.getvalue().strip():
            logger.debug("scvi-tools printed: %s", printed.getvalue().strip())
    return ScviEncoder(model, batch_key=batch_key, layer=layer)


def _lightning_device(device: torch.device | str | None) -> dict[str, Any]:
    """``accelerator``/``devices`` for scvi-tools' trainer: the given torch device, or a GPU when there is one."""
    if device is None:
        return {"accelerator": "cpu" if not torch.cuda.is_available() else "auto"}
    device = torch.device(device)
    if device.type == "cuda":
        return {"accelerator": "gpu", "devices": [device.index or 0]}
    return {"accelerator": device.type, "devices": 1}


def _load_pretrained(
    adata: AnnData, folder: Path, *, input_layer: str | None, batch_key: str | None, layer: str | None
) -> ScviEncoder:
    import scvi

    if not (folder / "model.pt").is_file():
        raise InputError(f"{folder} is not a saved scvi-tools model (no model.pt); pass the folder SCVI.save wrote")
    genes = [str(g) for g in torch.load(folder / "model.pt", map_location="cpu", weights_only=False)["var_names"]]
    counts = _counts_for(adata, None, input_layer)
    matched = int(counts.var_names.isin(genes).sum())
    if matched < min(10, len(genes)):
        raise InputError(f"only {matched} of the scVI model's {len(genes)} genes are in the data; check gene names")
    query = counts[:, counts.var_names.isin(genes)].copy()
    scvi.model.SCVI.prepare_query_anndata(query, str(folder))
    model = scvi.model.SCVI.load(str(folder), adata=query, accelerator="cpu")
    return ScviEncoder(model, batch_key=batch_key, layer=layer)


@quiet_libraries()
def load_scvi(path: str | Path) -> ScviEncoder:
    """Load an :class:`ScviEncoder` saved by :meth:`ScviEncoder.save`."""
    import scvi

    path = Path(path)
    info = json.loads((path / "encoder.json").read_text())
    folder = path / SCVI_FOLDER
    genes = [str(g) for g in torch.load(folder / "model.pt", map_location="cpu", weights_only=False)["var_names"]]
    # scvi-tools loads a model onto an AnnData with its genes; a few cells of ones satisfy the set-up checks.
    n_cells = 3 * max(1, len(info["batches"]))
    template = AnnData(X=sp.csr_matrix(np.ones((n_cells, len(genes)), dtype=np.float32)))
    template.var_names = genes
    if info["batch_key"] is not None:
        batches = [info["batches"][i % len(info["batches"])] for i in range(n_cells)]
        template.obs[info["batch_key"]] = np.asarray(batches)
    model = scvi.model.SCVI.load(str(folder), adata=template, accelerator="cpu")
    return ScviEncoder(model, batch_key=info["batch_key"], layer=info.get("layer"))
