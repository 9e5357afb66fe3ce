"""Minibatches from any 2-D array-like (numpy, memory-mapped, zarr, h5py) read in contiguous chunks.

Only one chunk of rows is in memory at a time, so the trainer scales to embeddings that do not fit
in memory: chunks are visited in random order and their rows shuffled within the chunk.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from scconcepts._errors import InputError
from scconcepts.models._base import check_finite

CHUNK_ROWS = 65_536


def check_embedding(data: Any) -> tuple[int, int]:
    """Return ``(n_cells, dim)`` of a 2-D array-like, or raise :class:`InputError`."""
    shape = getattr(data, "shape", None)
    if shape is None or len(shape) != 2:
        raise InputError(f"the embedding must be a 2-D array (cells x dimensions), got shape {shape}")
    n_cells, dim = int(shape[0]), int(shape[1])
    if n_cells == 0 or dim == 0:
        raise InputError(f"the embedding is empty ({n_cells} cells x {dim} dimensions)")
    return n_cells, dim


def read_rows(data: Any, start: int, stop: int) -> np.ndarray:
    """Read rows ``start:stop`` as float32, refusing NaN or infinite values."""
    block = np.asarray(data[start:stop], dtype=np.float32)
    check_finite(block, what=f"embedding rows {start}-{stop}")
    return block


def iter_chunks(data: Any, rows: np.ndarray | None = None, *, chunk_rows: int = CHUNK_ROWS) -> Iterator[np.ndarray]:
    """Yield the selected ``rows`` (sorted indices; all rows when ``None``) chunk by chunk, in order."""
    n_cells = check_embedding(data)[0]
    for start in range(0, n_cells, chunk_rows):
        stop = min(start + chunk_rows, n_cells)
        block = read_rows(data, start, stop)
        if rows is None:
            yield block
            continue
        local = rows[(rows >= start) & (rows < stop)] - start
        if local.size:
            yield block[local]


def iter_minibatches(
    data: Any, rows: np.ndarray, batch_size: int, rng: np.random.Generator, *, chunk_rows: int = CHUNK_ROWS
) -> Iterator[np.ndarray]:
    """Yield shuffled minibatches of the selected ``rows``; chunks in random order, rows shuffled within."""
    n_cells = check_embedding(data)[0]
    starts = np.arange(0, n_cells, chunk_rows)
    leftover = np.empty((0, data.shape[1]), dtype=np.float32)
    for start in rng.permutation(starts):
        stop = min(start + chunk_rows, n_cells)
        local = rows[(rows >= start) & (rows < stop)] - start
        if not local.size:
            continue
        block = np.concatenate([leftover, read_rows(data, start, stop)[rng.permutation(local)]])
        n_full = len(block) // batch_size * batch_size
        for offset in range(0, n_full, batch_size):
            yield block[offset : offset + batch_size]
        leftover = block[n_full:]
    if len(leftover):
        yield leftover


def normaliser_stats(data: Any, rows: np.ndarray) -> tuple[np.ndarray, float]:
    """Return the mean of the selected rows and the scale that gives centred rows a mean squared norm of ``dim``."""
    total, total_sq, count = None, 0.0, 0
    for block in iter_chunks(data, rows):
        block64 = block.astype(np.float64)
        total = block64.sum(0) if total is None else total + block64.sum(0)
        total_sq += float((block64**2).sum())
        count += len(block)
    mean = total / count
    dim = mean.shape[0]
    centred_sq = max(total_sq / count - float(mean @ mean), 1e-12)
    return mean.astype(np.float32), float(np.sqrt(centred_sq / dim))


def geometric_median(data: Any, rows: np.ndarray, mean: np.ndarray, scale: float, *, seed: int = 0) -> np.ndarray:
    """Geometric median of (a sample of at most 10,000 of) the selected rows, normalised as the SAE sees them.

    The decoder bias starts there: where most programs are off, so that atoms grow from the cells' common
    ground instead of from their mean (from the mean, "program off" becomes a direction of its own).
    Weiszfeld's iterations, 50 at most.
    """
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(rows, min(len(rows), 10_000), replace=False))
    x = (np.asarray(data[sample], dtype=np.float64) - mean) / scale
    point = np.median(x, axis=0)
    for _ in range(50):
        distance = np.clip(np.linalg.norm(x - point, axis=1), 1e-8, None)
        updated = (x / distance[:, None]).sum(0) / (1 / distance).sum()
        if np.linalg.norm(updated - point) < 1e-6 * max(1.0, float(np.linalg.norm(point))):
            return updated.astype(np.float32)
        point = updated
    return point.astype(np.float32)
