"""Embedding and concept encoding over chunks of cells, each chunk a work unit of its own."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from anndata import AnnData

from scconcepts.distributed._chunks import DEFAULT_CHUNK, SlicedParts, cell_chunks, map_chunks
from scconcepts.models._base import Encoder


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


def _encode_part(rows: np.ndarray, sae: Any, batch_size: int) -> sp.csr_matrix:
    from scconcepts.sae._encode import encode_csr

    return encode_csr(sae, rows, batch_size=batch_size)


def encode_on_workers(
    sae: Any, embedding: np.ndarray, *, client: Any, batch_size: int = 8192, chunk_size: int = DEFAULT_CHUNK
) -> sp.csr_matrix:
    """Concept activations of every cell (CSR), one chunk of cells per task; equals ``encode_csr``."""
    parts = SlicedParts(lambda rows: np.asarray(embedding[rows]), cell_chunks(embedding.shape[0], chunk_size))
    blocks = map_chunks(_encode_part, parts, sae, batch_size, client=client, desc="encoding chunks")
    return sp.vstack(blocks, format="csr", dtype=np.float32)
