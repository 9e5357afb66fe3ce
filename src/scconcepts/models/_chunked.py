"""Embedding chunk by chunk: over chunks of cells on Dask workers, or from a matrix that stays on disk."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from anndata import AnnData

from scconcepts._progress import progress
from scconcepts.distributed._chunks import DEFAULT_CHUNK, SlicedParts, cell_chunks, map_chunks
from scconcepts.ds._lazy import file_rows, row_chunks, source_of
from scconcepts.models._base import Encoder

logger = logging.getLogger(__name__)


def _embed_part(part: tuple[sp.csr_matrix, np.ndarray | None], encoder: Encoder, batch_size: int) -> np.ndarray:
    x, context = part
    return encoder.embed_rows(x, context, batch_size=batch_size)


def embed_on_workers(
    encoder: Encoder,
    adata: AnnData,
    *,
    client: Any,
    input_layer: str | None = None,
    batch_size: int = 1024,
    chunk_size: int = DEFAULT_CHUNK,
) -> np.ndarray:
    """Embed every cell, one chunk of cells per task; equals :meth:`Encoder.embed` (cells are independent).

    The encoder is sent to each worker once. Returns a cells x dim float32 array in the cells' order.
    """
    x = encoder.expression(adata, layer=input_layer)
    context = encoder.context(adata)
    context = None if context is None else np.asarray(context)
    parts = SlicedParts(lambda rows: (x[rows], None if context is None else context[rows]),
                        cell_chunks(x.shape[0], chunk_size))  # fmt: skip
    return np.concatenate(map_chunks(_embed_part, parts, encoder, batch_size, client=client, desc="embedding chunks"))


def _chunk_adata(x: sp.csr_matrix, obs: pd.DataFrame, var_names: pd.Index) -> AnnData:
    chunk = AnnData(X=x, obs=obs)
    chunk.var_names = var_names
    return chunk


def _embed_file_part(part: tuple[tuple[str, str], int, int, pd.DataFrame], encoder: Encoder, var_names: pd.Index,
                     batch_size: int) -> np.ndarray:  # fmt: skip
    source, start, stop, obs = part
    chunk = _chunk_adata(file_rows(source, start, stop), obs, var_names)
    return encoder.embed_rows(encoder.expression(chunk), encoder.context(chunk), batch_size=batch_size)


def embed_lazy(encoder: Encoder, adata: AnnData, *, client: Any = None, batch_size: int = 1024) -> np.ndarray:
    """Embed a lazily read AnnData chunk by chunk; equals :meth:`Encoder.embed` on the loaded matrix."""
    source = source_of(adata)
    if client is not None and source is not None:
        parts, start = [], 0
        for size in adata.X.chunks[0]:
            parts.append((source, start, start + size, adata.obs.iloc[start : start + size]))
            start += size
        logger.info("embedding %d cells on workers that read their %d chunks from %s", adata.n_obs, len(parts),
                    source[0])  # fmt: skip
        blocks = map_chunks(_embed_file_part, parts, encoder, adata.var_names, batch_size, client=client,
                            desc="embedding chunks")  # fmt: skip
        return np.concatenate(blocks)
    blocks = []
    chunks = progress(row_chunks(adata), total=len(adata.X.chunks[0]), desc=f"embedding with {encoder.name}")
    for start, x in chunks:
        chunk = _chunk_adata(x, adata.obs.iloc[start : start + x.shape[0]], adata.var_names)
        blocks.append(encoder.embed_rows(encoder.expression(chunk), encoder.context(chunk), batch_size=batch_size))
    return np.concatenate(blocks)
