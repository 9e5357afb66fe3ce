"""Helpers shared by the token models (scGPT, Geneformer): vocabulary matching, per-cell seeds, hashing."""

from __future__ import annotations

import logging
import zlib
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from anndata import AnnData

from scconcepts._errors import InputError

logger = logging.getLogger(__name__)

_MASK32 = 0xFFFFFFFF


def match_vocabulary(
    adata: AnnData,
    vocab: Mapping[str, int],
    *,
    model: str,
    min_genes: int = 10,
    min_fraction: float = 0.25,
    aliases: Mapping[str, str] | None = None,
) -> tuple[list[str], np.ndarray]:
    """Match the data's genes to a model vocabulary.

    Parameters
    ----------
    adata
        Data whose ``var_names`` are matched.
    vocab
        Gene identifier -> token id.
    model
        Model name used in messages.
    min_genes, min_fraction
        Fewest matched genes (count and fraction of the data's genes) accepted.
    aliases
        Optional map from the data's gene names to vocabulary identifiers (e.g. symbol -> Ensembl ID),
        used for names that are not vocabulary keys themselves.

    Returns
    -------
    The matched gene names as in ``adata.var_names`` (data order, each token used once) and their token ids.

    """
    genes: list[str] = []
    tokens: list[int] = []
    seen: set[int] = set()
    for name in map(str, adata.var_names):
        key = name if name in vocab else (aliases or {}).get(name)
        if key is None or key not in vocab:
            continue
        token = int(vocab[key])
        if token in seen:
            continue
        seen.add(token)
        genes.append(name)
        tokens.append(token)
    n_data = adata.n_vars
    if len(genes) < min_genes or len(genes) < min_fraction * n_data:
        example = ", ".join(map(str, adata.var_names[:3]))
        raise InputError(
            f"only {len(genes)} of the data's {n_data} genes are in the {model} vocabulary of {len(vocab)} tokens "
            f"(need at least {max(min_genes, int(np.ceil(min_fraction * n_data)))}; data genes look like {example}); "
            "use the gene identifiers the checkpoint was trained on"
        )
    logger.info("%s: matched %d of %d genes to a vocabulary of %d tokens", model, len(genes), n_data, len(vocab))
    return genes, np.asarray(tokens, dtype=np.int64)


def cell_seeds(names: Sequence[str], *, seed: int = 0) -> np.ndarray:
    """Stable 32-bit seed per cell from its name (CRC32), so a cell's random choices survive subsetting."""
    return np.asarray([zlib.crc32(f"{seed}:{name}".encode()) for name in names], dtype=np.int64)


def _mix(x: np.ndarray) -> np.ndarray:
    """A 32-bit integer hash (two xor-shift-multiply rounds) on uint64 arrays holding values < 2**32."""
    x = ((x ^ (x >> np.uint64(16))) * np.uint64(0x045D9F3B)) & np.uint64(_MASK32)
    x = ((x ^ (x >> np.uint64(16))) * np.uint64(0x045D9F3B)) & np.uint64(_MASK32)
    return x ^ (x >> np.uint64(16))


def hashed_uniform(seeds: np.ndarray, tokens: np.ndarray, *, salt: int) -> np.ndarray:
    """Deterministic uniform [0, 1) numbers, one per (cell seed, token) pair (element-wise, broadcast).

    The same cell seed and token always give the same number, whatever else is in the batch: a cell's
    random choices (gene sampling, tie breaking) do not change when another gene of the cell is perturbed.

    Parameters
    ----------
    seeds
        Per-entry cell seeds (< 2**32).
    tokens
        Per-entry token ids.
    salt
        Distinguishes independent streams (e.g. sampling vs. tie breaking).

    """
    mask = np.uint64(_MASK32)
    seeds = np.asarray(seeds).astype(np.uint64) & mask
    tokens = np.asarray(tokens).astype(np.uint64) & mask
    salted = _mix(seeds ^ np.uint64((salt * 0x9E3779B1) & _MASK32))
    key = _mix((salted + tokens * np.uint64(0x27D4EB2F)) & mask)
    return key.astype(np.float64) / float(1 << 32)


def context_seeds(context: torch.Tensor | np.ndarray | None, n_cells: int, *, default: int = 0) -> np.ndarray:
    """Per-cell seeds from ``context`` (as given by ``Encoder.context``), or ``default`` for every cell."""
    if context is None:
        return np.full(n_cells, default, dtype=np.int64)
    if isinstance(context, torch.Tensor):
        context = context.detach().cpu().numpy()
    seeds = np.asarray(context, dtype=np.int64).reshape(-1)
    if seeds.size != n_cells:
        raise InputError(f"context holds {seeds.size} values for {n_cells} cells; pass one per cell")
    return seeds


def length_chunks(lengths: np.ndarray, *, n_heads: int, attention_budget: int = 1 << 24) -> list[np.ndarray]:
    """Split cells into forward passes of similar sequence length.

    Cells are sorted by token count so that a pass pads little, and each pass holds at most
    ``attention_budget`` attention scores (``cells x heads x length**2``), which bounds memory.

    Parameters
    ----------
    lengths
        Token count of each cell (special tokens included).
    n_heads
        Attention heads of the model.
    attention_budget
        Most attention scores one pass may hold.

    Returns
    -------
    Index arrays into ``lengths``, one per forward pass.

    """
    order = np.argsort(lengths, kind="stable")
    chunks: list[np.ndarray] = []
    start = 0
    while start < len(order):
        stop = start + 1
        while stop < len(order):
            longest = int(lengths[order[stop]])
            if (stop + 1 - start) * n_heads * longest * longest > attention_budget:
                break
            stop += 1
        chunks.append(order[start:stop])
        start = stop
    return chunks
