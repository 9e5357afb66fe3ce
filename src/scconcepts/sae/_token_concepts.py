"""A dictionary learnt on gene-token states, read per cell and per gene.

Each token (one gene in one cell) has its concept activations. A concept's **per-cell** activation is the max
and the mean over the cell's stored tokens (cells without tokens get 0); its **per-gene** activation is the mean
over the cells where the gene's token is present (each gene has at most one token per cell), ``NaN`` for genes
with no token: the gene ranking that enrichment reads, against the background of the genes that had a token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from scconcepts.sae._model import TopKSAE

BATCH_TOKENS = 32_768


@dataclass
class TokenConcepts:
    """Concept activations of a token dictionary, gathered per cell and per gene."""

    #: ``cells x concepts`` max over each cell's tokens.
    cell_max: np.ndarray
    #: ``cells x concepts`` mean over each cell's tokens.
    cell_mean: np.ndarray
    #: ``genes x concepts`` mean over the tokens of each gene (``NaN`` for genes without a token).
    gene_mean: np.ndarray
    #: Tokens of each gene (cells where the gene's token is present).
    gene_tokens: np.ndarray
    #: Tokens of each gene on which each concept fires (``genes x concepts``).
    gene_active: np.ndarray


@torch.no_grad()
def token_concepts(
    sae: TopKSAE,
    states: Any,
    cells: np.ndarray,
    genes: np.ndarray,
    *,
    n_cells: int,
    n_genes: int,
    batch_size: int = BATCH_TOKENS,
) -> TokenConcepts:
    """Encode every token (``states`` read ``batch_size`` rows at a time) and gather per cell and per gene.

    Parameters
    ----------
    sae
        Dictionary over token states.
    states
        ``tokens x dim`` array-like (a memory-mapped store is read chunk by chunk).
    cells, genes
        Each token's cell (``< n_cells``) and gene (``< n_genes``).
    n_cells, n_genes
        Rows of the per-cell and per-gene results.
    batch_size
        Tokens encoded at once.

    """
    sae.eval()
    device = sae.W_dec.device
    n_concepts = sae.n_latents
    cell_max = torch.zeros(n_cells, n_concepts, device=device)
    cell_sum = torch.zeros(n_cells, n_concepts, dtype=torch.float64, device=device)
    gene_sum = torch.zeros(n_genes, n_concepts, dtype=torch.float64, device=device)
    gene_active = torch.zeros(n_genes, n_concepts, dtype=torch.int64, device=device)
    for start in range(0, len(cells), batch_size):
        stop = min(start + batch_size, len(cells))
        z = sae.encode(torch.as_tensor(np.array(states[start:stop], dtype=np.float32), device=device))
        cell = torch.as_tensor(np.array(cells[start:stop], dtype=np.int64), device=device)
        gene = torch.as_tensor(np.array(genes[start:stop], dtype=np.int64), device=device)
        index = cell[:, None].expand_as(z)
        cell_max.scatter_reduce_(0, index, z, reduce="amax", include_self=True)
        cell_sum.index_add_(0, cell, z.double())
        gene_sum.index_add_(0, gene, z.double())
        gene_active.index_add_(0, gene, (z > 0).long())
    cell_count = np.bincount(np.asarray(cells), minlength=n_cells)
    gene_count = np.bincount(np.asarray(genes), minlength=n_genes)
    cell_mean = cell_sum.cpu().numpy() / np.clip(cell_count, 1, None)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        gene_mean = gene_sum.cpu().numpy() / gene_count[:, None]
    gene_mean[gene_count == 0] = np.nan
    return TokenConcepts(
        cell_max=cell_max.cpu().numpy().astype(np.float32),
        cell_mean=cell_mean.astype(np.float32),
        gene_mean=gene_mean.astype(np.float32),
        gene_tokens=gene_count,
        gene_active=gene_active.cpu().numpy(),
    )
