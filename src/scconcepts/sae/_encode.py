"""Concept activations of many cells as a sparse CSR matrix, computed in batches."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from scconcepts._errors import InputError
from scconcepts.sae._data import check_embedding, iter_chunks
from scconcepts.sae._model import TopKSAE


@torch.no_grad()
def encode_csr(sae: TopKSAE, data: Any, *, batch_size: int = 8192) -> sp.csr_matrix:
    """Encode every row of a cells x dims array-like; returns a float32 cells x latents CSR matrix."""
    dim = check_embedding(data)[1]
    if dim != sae.d_in:
        raise InputError(f"the embedding has {dim} dimensions but the SAE was trained on {sae.d_in}")
    sae.eval()
    device = next(sae.parameters()).device
    blocks = []
    for chunk in iter_chunks(data):
        for start in range(0, len(chunk), batch_size):
            z = sae.encode(torch.as_tensor(chunk[start : start + batch_size], device=device))
            blocks.append(sp.csr_matrix(z.cpu().numpy()))
    matrix = sp.vstack(blocks, format="csr", dtype=np.float32)
    matrix.eliminate_zeros()
    return matrix
