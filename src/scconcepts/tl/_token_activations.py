"""``tl.token_activations``: the gene-token states of a transformer layer, for every cell, into a disk-backed store."""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from anndata import AnnData

from scconcepts._errors import InputError
from scconcepts.distributed._chunks import DEFAULT_CHUNK, SlicedParts, cell_chunks, map_chunks
from scconcepts.models._base import Encoder
from scconcepts.models._token_encoder import TokenEncoder
from scconcepts.models._token_states import write_token_states
from scconcepts.models._token_store import META, TokenStore, join_stores
from scconcepts.models._tokens import cell_seeds

logger = logging.getLogger(__name__)


def token_activations(
    adata: AnnData,
    encoder: Encoder,
    *,
    layer: str | None = None,
    max_tokens_per_cell: int | None = None,
    path: str | Path | None = None,
    seed: int = 0,
    batch_size: int = 256,
    input_layer: str | None = None,
    overwrite: bool = False,
    client: Any = None,
    chunk_size: int = DEFAULT_CHUNK,
) -> TokenStore:
    """Read every cell's gene-token states at one layer of scGPT or Geneformer into a store on disk.

    Parameters
    ----------
    adata
        Cells with raw counts in ``X`` (or ``layers[input_layer]``).
    encoder
        A token-model encoder (``tl.embed(adata, model="scgpt" | "geneformer", ...)`` returns one).
    layer
        Transformer layer to read, ``layer_<i>`` (default: the encoder's layer). The encoder is left at its layer.
    max_tokens_per_cell
        Most gene tokens kept per cell, a sample seeded by ``seed`` and the cell's name (``None``: all).
    path
        Folder of the store (default: a new temporary folder).
    seed
        Seed of the token sample.
    batch_size
        Most cells per chunk (a chunk also holds at most 65,536 expressed genes): only one chunk's states are in
        memory at a time.
    input_layer
        ``adata.layers`` key of the counts (``None``: ``X``).
    overwrite
        Replace a store already at ``path``.
    client
        A ``distributed.Client``: chunks of ``chunk_size`` cells are read on its workers, each writing a part store
        beside ``path`` (the workers must see that folder: a local cluster, or a shared file system), and the parts
        are joined in cell order into the store. The result equals the one read here.
    chunk_size
        Cells per worker task (with ``client``).

    Returns
    -------
    The store: ``states`` (tokens x dim, memory-mapped float32), each token's ``cells`` (row of ``adata``) and
    ``genes`` (index into ``gene_names``, the encoder's genes), and ``cls`` (cells x dim, where the input has
    ``<cls>``). Special and padding tokens are left out.

    """
    if not isinstance(encoder, TokenEncoder):
        raise InputError(f"token activations need a transformer (scgpt or geneformer); the {encoder.name} model has "
                         "no gene tokens")  # fmt: skip
    if max_tokens_per_cell is not None and max_tokens_per_cell < 1:
        raise InputError(f"max_tokens_per_cell must be at least 1; got {max_tokens_per_cell}")
    if adata.n_obs == 0:
        raise InputError("the data hold no cells; give at least one cell")
    folder = Path(tempfile.mkdtemp(prefix="scconcepts-tokens-")) if path is None else Path(path)
    previous = encoder.layer
    encoder.select_layer(layer or previous)
    try:
        info = {"model": encoder.name, "layer": encoder.layer, "max_tokens_per_cell": max_tokens_per_cell,
                "seed": int(seed), "cell_names": [str(c) for c in adata.obs_names]}  # fmt: skip
        x, context = encoder.expression(adata, layer=input_layer), encoder.context(adata)
        seeds = cell_seeds(adata.obs_names, seed=seed)
        options = {"max_tokens_per_cell": max_tokens_per_cell, "batch_size": batch_size}
        if client is None:
            return write_token_states(encoder, x, context, folder, seeds=seeds, info=info,
                                      overwrite=overwrite or path is None, **options)  # fmt: skip
        folder.parent.mkdir(parents=True, exist_ok=True)
        parts_folder = Path(tempfile.mkdtemp(prefix=f".{folder.name}-parts-", dir=folder.parent))
        try:
            context = None if context is None else np.asarray(context)
            parts = SlicedParts(lambda rows: (rows.start, x[rows], None if context is None else context[rows],
                                              seeds[rows], parts_folder / f"part-{rows.start:012d}"),
                                cell_chunks(adata.n_obs, chunk_size))  # fmt: skip
            written = map_chunks(_write_part, parts, encoder, options, client=client, desc="token state chunks")
            return join_stores(written, folder, n_cells=adata.n_obs, gene_names=encoder.genes, info=info,
                               overwrite=overwrite or path is None)  # fmt: skip
        finally:
            shutil.rmtree(parts_folder, ignore_errors=True)
    finally:
        encoder.select_layer(previous)


def _write_part(part: tuple, encoder: TokenEncoder, options: dict[str, Any]) -> tuple[int, Path]:
    """On a worker: write the token states of one chunk of cells into its part folder; return (first cell, folder)."""
    start, x, context, seeds, folder = part
    try:
        write_token_states(encoder, x, context, folder, seeds=seeds, **options)
    except InputError:
        if not (Path(folder) / META).is_file():  # written, but none of these cells has a gene token: an empty part
            raise
    return start, Path(folder)
