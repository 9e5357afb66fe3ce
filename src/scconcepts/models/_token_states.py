"""Per-token states of scGPT and Geneformer, streamed cell chunk by cell chunk into a :class:`TokenStore`.

The states come from the encoder's own forward pass (:meth:`TokenEncoder.token_states`, the one that
:meth:`~TokenEncoder.encode_tokens` pools), at the encoder's layer. Special tokens (``<cls>``, ``<eos>``) and padding
are left out; ``<cls>`` is kept apart, one state per cell. With ``max_tokens_per_cell`` each cell keeps a sample of
its gene tokens, drawn from a hash of (cell seed, token id): the same cell keeps the same tokens in any chunk.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from scconcepts._progress import progress
from scconcepts.models._token_encoder import StateChunk, TokenEncoder
from scconcepts.models._token_store import TokenStore, TokenStoreWriter
from scconcepts.models._tokens import hashed_uniform

logger = logging.getLogger(__name__)

_SALT_TOKENS = 3


@dataclass
class CellTokenStates:
    """Gene-token states of a chunk of cells, sorted by cell then gene."""

    #: Each token's cell (row in the chunk).
    cells: np.ndarray
    #: Each token's gene (index into the encoder's genes).
    genes: np.ndarray
    #: ``tokens x dim`` float32 states.
    states: np.ndarray
    #: ``cells x dim`` ``<cls>`` states, or ``None``.
    cls: np.ndarray | None


def gene_columns(encoder: TokenEncoder) -> np.ndarray:
    """Lookup from token id to the encoder's gene index (-1 for ids that are not one of its genes)."""
    tokens = np.asarray(encoder.gene_tokens, dtype=np.int64)  # type: ignore[attr-defined]
    lookup = np.full(int(tokens.max(initial=0)) + 1, -1, dtype=np.int64)
    lookup[tokens] = np.arange(tokens.size)
    return lookup


def sample_tokens(cells: np.ndarray, ids: np.ndarray, seeds: np.ndarray, limit: int) -> np.ndarray:
    """Boolean mask keeping at most ``limit`` tokens per cell, the ones of lowest hash of (cell seed, token id)."""
    priority = hashed_uniform(seeds[cells], ids, salt=_SALT_TOKENS)
    order = np.lexsort((priority, cells))
    starts = np.searchsorted(cells[order], cells[order], side="left")
    rank = np.empty(cells.size, dtype=np.int64)
    rank[order] = np.arange(cells.size) - starts
    return rank < limit


def chunk_gene_tokens(chunk: StateChunk) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each gene token of one forward pass: its cell (row of the token batch), its token id and its float32 state."""
    rows, positions = torch.nonzero(chunk.genes, as_tuple=True)
    cells = chunk.rows[rows.cpu().numpy()]
    return cells, chunk.ids[rows, positions].cpu().numpy(), chunk.states[rows, positions].float().cpu().numpy()


@torch.no_grad()
def cell_token_states(
    encoder: TokenEncoder,
    x: np.ndarray,
    context: np.ndarray | None,
    *,
    lookup: np.ndarray,
    seeds: np.ndarray,
    max_tokens_per_cell: int | None = None,
) -> CellTokenStates:
    """Gene-token states of the cells ``x`` (cells x the encoder's genes, raw counts).

    Parameters
    ----------
    encoder
        scGPT or Geneformer encoder, set to the layer to read.
    x, context
        Raw counts and the cells' context (:meth:`~scconcepts.models.Encoder.context`).
    lookup
        :func:`gene_columns` of the encoder.
    seeds
        Per-cell seeds of the token sample.
    max_tokens_per_cell
        Most gene tokens kept per cell (``None``: all).

    """
    tokens = encoder.cell_tokens(x, context)
    parts_cells, parts_ids, parts_states, cls_rows, cls_states = [], [], [], [], []
    for chunk in encoder.token_states(tokens):
        chunk_cells, chunk_ids, chunk_states = chunk_gene_tokens(chunk)
        parts_cells.append(chunk_cells)
        parts_ids.append(chunk_ids)
        parts_states.append(chunk_states)
        if chunk.cls_position is not None:
            cls_rows.append(chunk.rows)
            cls_states.append(chunk.states[:, chunk.cls_position].float().cpu().numpy())
    cells = np.concatenate(parts_cells).astype(np.int64)
    ids = np.concatenate(parts_ids).astype(np.int64)
    states = np.concatenate(parts_states)
    parts_states.clear()  # at most two copies of the chunk's states at a time: these and the sorted ones
    genes = lookup[ids]
    if max_tokens_per_cell is None:
        pick = np.lexsort((genes, cells))
    else:
        kept = np.flatnonzero(sample_tokens(cells, ids, seeds, max_tokens_per_cell))
        pick = kept[np.lexsort((genes[kept], cells[kept]))]
    cls = None
    if cls_rows:
        cls = np.empty((x.shape[0], states.shape[1]), dtype=np.float32)
        cls[np.concatenate(cls_rows)] = np.concatenate(cls_states)
    return CellTokenStates(cells[pick], genes[pick], np.take(states, pick, axis=0), cls)


#: Most expressed genes (an upper bound of gene tokens) in one chunk of cells: 128 MiB of 512-d float32 states.
CHUNK_TOKENS = 65_536


def chunk_bounds(expressed: np.ndarray, *, batch_size: int, chunk_tokens: int) -> list[tuple[int, int]]:
    """Consecutive ``(start, stop)`` cell ranges of at most ``batch_size`` cells and ``chunk_tokens`` expressed genes.

    A cell with more expressed genes than ``chunk_tokens`` is a chunk of its own.
    """
    bounds, start, total = [], 0, 0
    for cell, count in enumerate(np.asarray(expressed, dtype=np.int64).tolist()):
        if cell > start and (cell - start >= batch_size or total + count > chunk_tokens):
            bounds.append((start, cell))
            start, total = cell, 0
        total += count
    if start < len(expressed):
        bounds.append((start, len(expressed)))
    return bounds


def write_token_states(
    encoder: TokenEncoder,
    x: sp.csr_matrix,
    context: np.ndarray | None,
    folder: str | Path,
    *,
    seeds: np.ndarray,
    max_tokens_per_cell: int | None = None,
    batch_size: int = 256,
    info: dict[str, Any] | None = None,
    overwrite: bool = False,
    chunk_tokens: int = CHUNK_TOKENS,
) -> TokenStore:
    """Stream the gene-token states of every row of ``x`` (aligned counts) into a store at ``folder``.

    Only one chunk of cells' states is in memory at a time (at most ``batch_size`` cells, and no more cells than keep
    their expressed genes within ``chunk_tokens``, at least one cell); the store is written as they come.
    """
    lookup = gene_columns(encoder)
    n_cells = x.shape[0]
    writer: TokenStoreWriter | None = None
    bounds = chunk_bounds(np.diff(sp.csr_matrix(x).indptr), batch_size=batch_size, chunk_tokens=chunk_tokens)
    for start, stop in progress(bounds, desc=f"token states of {encoder.name}", disable=len(bounds) < 4):
        ctx = None if context is None else np.asarray(context[start:stop])
        part = cell_token_states(encoder, x[start:stop].toarray(), ctx, lookup=lookup, seeds=seeds[start:stop],
                                 max_tokens_per_cell=max_tokens_per_cell)  # fmt: skip
        if writer is None:
            writer = TokenStoreWriter(folder, dim=part.states.shape[1], n_cells=n_cells, gene_names=encoder.genes,
                                      with_cls=part.cls is not None, info=info, overwrite=overwrite)  # fmt: skip
        writer.add(part.cells + start, part.genes, part.states)
        if part.cls is not None:
            writer.add_cls(np.arange(start, stop), part.cls)
    assert writer is not None
    store = writer.close()
    logger.info("%s %s: %d gene tokens of %d cells (%d-d states) in %s", encoder.name, encoder.layer,
                store.n_tokens, n_cells, store.dim, store.folder)  # fmt: skip
    return store
