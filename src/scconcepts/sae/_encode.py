"""Concept activations of many cells as a sparse CSR matrix, computed in batches and written in place."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from scconcepts._errors import InputError
from scconcepts.sae._data import check_embedding, iter_chunks
from scconcepts.sae._model import TopKSAE


class _GrowingCSR:
    """Buffers of a CSR matrix filled batch by batch: ``n_rows x k`` entries reserved, grown only if exceeded.

    A Top-K SAE stores at most ``k`` activations per cell, so the buffers are allocated once and the
    matrix is never copied or stacked; a BatchTopK SAE (any number per cell) grows them by half when full.
    """

    def __init__(self, n_rows: int, n_cols: int, per_row: int) -> None:
        self.n_rows, self.n_cols = n_rows, n_cols
        capacity = max(n_rows * per_row, 1)
        self.index_dtype = np.int64 if max(capacity, n_cols) >= np.iinfo(np.int32).max else np.int32
        self.data = np.empty(capacity, dtype=np.float32)
        self.indices = np.empty(capacity, dtype=self.index_dtype)
        self.indptr = np.zeros(n_rows + 1, dtype=np.int64)
        self.row = 0

    def append(self, counts: np.ndarray, cols: np.ndarray, values: np.ndarray) -> None:
        """Add the next rows: per row its count of stored entries, then all columns and values in row order."""
        start = int(self.indptr[self.row])
        stop = start + cols.size
        if stop > self.data.size:
            self._grow(stop)
        self.data[start:stop] = values
        self.indices[start:stop] = cols
        self.indptr[self.row + 1 : self.row + 1 + counts.size] = start + np.cumsum(counts)
        self.row += counts.size

    def _grow(self, needed: int) -> None:
        size = max(needed, self.data.size + self.data.size // 2)
        self.data.resize(size, refcheck=False)
        self.indices.resize(size, refcheck=False)

    def matrix(self) -> sp.csr_matrix:
        """The filled CSR matrix (the buffers trimmed in place to the stored entries)."""
        nnz = int(self.indptr[self.row])
        self.data.resize(nnz, refcheck=False)
        self.indices.resize(nnz, refcheck=False)
        indptr = self.indptr.astype(self.index_dtype, copy=False)
        return sp.csr_matrix((self.data, self.indices, indptr), shape=(self.n_rows, self.n_cols), copy=False)


@torch.no_grad()
def encode_csr(sae: TopKSAE, data: Any, *, batch_size: int = 8192) -> sp.csr_matrix:
    """Encode every row of a cells x dims array-like; returns a float32 cells x latents CSR matrix.

    Each batch's non-zero activations (row-major, so columns are sorted within each row) are written
    straight into the preallocated CSR buffers; only one batch is ever dense, never the whole matrix.
    """
    n_rows, dim = check_embedding(data)
    if dim != sae.d_in:
        raise InputError(f"the embedding has {dim} dimensions but the SAE was trained on {sae.d_in}")
    sae.eval()
    device = next(sae.parameters()).device
    out = _GrowingCSR(n_rows, sae.n_latents, sae.k)
    for chunk in iter_chunks(data):
        for start in range(0, len(chunk), batch_size):
            z = sae.encode(torch.as_tensor(chunk[start : start + batch_size], device=device))
            rows, cols = torch.nonzero(z, as_tuple=True)
            counts = torch.bincount(rows, minlength=z.shape[0])
            out.append(counts.cpu().numpy(), cols.cpu().numpy(), z[rows, cols].float().cpu().numpy())
    return out.matrix()
