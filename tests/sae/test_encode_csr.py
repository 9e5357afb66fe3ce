"""encode_csr writes each batch's activations straight into CSR buffers; the matrix equals dense-then-stack."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from scconcepts.sae import TopKSAE, encode_csr


def dense_then_stack(sae: TopKSAE, data: np.ndarray, batch_size: int) -> sp.csr_matrix:
    """The old way: every batch encoded densely, made CSR, and all batches stacked."""
    with torch.no_grad():
        blocks = [
            sp.csr_matrix(sae.encode(torch.as_tensor(data[s : s + batch_size])).numpy())
            for s in range(0, len(data), batch_size)
        ]
    matrix = sp.vstack(blocks, format="csr", dtype=np.float32)
    matrix.eliminate_zeros()
    return matrix


def random_sae(inference: str, *, batch_topk: bool = False) -> TopKSAE:
    torch.manual_seed(0)
    sae = TopKSAE(8, 32, 4, batch_topk=batch_topk, inference=inference)
    with torch.no_grad():
        # Top-K: a negative bias leaves some cells fewer than k positive activations (zeros are dropped);
        # BatchTopK: a positive one keeps far more than k per cell, past the buffers' first size
        sae.b_enc.normal_(0.5 if batch_topk else -1.5, 0.5)
        sae.threshold.fill_(0.3)
    return sae


@pytest.mark.parametrize(("inference", "batch_topk"), [("encoder", False), ("pursuit", False), ("encoder", True)])
def test_encode_csr_equals_dense_then_stack(inference, batch_topk):
    sae = random_sae(inference, batch_topk=batch_topk)
    data = np.random.default_rng(1).normal(size=(203, 8)).astype(np.float32)
    found, expected = encode_csr(sae, data, batch_size=16), dense_then_stack(sae, data, 16)
    assert found.shape == expected.shape == (203, 32)
    assert found.dtype == np.float32 and found.has_sorted_indices
    np.testing.assert_array_equal(found.indptr, expected.indptr)
    np.testing.assert_array_equal(found.indices, expected.indices)
    np.testing.assert_array_equal(found.data, expected.data)
    per_cell = np.diff(found.indptr)
    if batch_topk:  # BatchTopK keeps any number per cell: the buffers had to grow past 4 per cell
        assert found.nnz > 4 * 203
    else:
        assert per_cell.max() <= 4 and per_cell.min() < 4  # zeros dropped, never more than k
