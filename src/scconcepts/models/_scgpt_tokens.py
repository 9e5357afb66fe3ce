"""scGPT input preparation: normalise + log1p, per-cell value binning, gene sampling, ``<cls>`` and padding.

Follows the official embedding pipeline (``tasks/cell_emb.py`` with its ``DataCollator``): a cell's tokens
are its expressed genes (value > 0) after a ``<cls>`` token whose value is ``pad_value``; the values are
binned per cell into ``n_bins - 1`` quantile bins of the expressed values, ties at a bin edge broken at
random; cells with more than ``max_length - 1`` expressed genes keep a random subset. The random numbers
come from a hash of (cell seed, gene token), so re-encoding a cell gives the same tokens, and perturbing
one gene leaves the other genes' random draws as they were.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from scconcepts.models._tokens import hashed_uniform

_SALT_SAMPLE = 1
_SALT_TIES = 2


@dataclass
class ScgptTokens:
    """A padded batch of scGPT inputs (``cells x length``)."""

    #: Gene token ids, ``<cls>`` first and ``<pad>`` after each cell's genes.
    genes: torch.Tensor
    #: Binned values (``pad_value`` at ``<cls>`` and padding).
    values: torch.Tensor
    #: ``True`` at padding positions.
    padding: torch.Tensor

    @property
    def lengths(self) -> torch.Tensor:
        """Tokens per cell, ``<cls>`` included."""
        return (~self.padding).sum(1)

    def select(self, rows: np.ndarray | torch.Tensor) -> ScgptTokens:
        """Return the cells ``rows``, trimmed to their longest sequence."""
        rows = torch.as_tensor(rows, dtype=torch.long)
        width = int(self.lengths[rows].max()) if len(rows) else 1
        return ScgptTokens(self.genes[rows, :width], self.values[rows, :width], self.padding[rows, :width])

    def to(self, device: torch.device | str) -> ScgptTokens:
        """Move the batch to ``device``."""
        return ScgptTokens(self.genes.to(device), self.values.to(device), self.padding.to(device))


def bin_values(values: np.ndarray, n_bins: int, uniform: np.ndarray) -> np.ndarray:
    """Bin one cell's expressed (positive) values as scGPT's ``binning`` does.

    Edges are the quantiles of the values at ``n_bins - 1`` evenly spaced levels; a value gets a bin
    between its left and right ``np.digitize`` index, drawn with ``uniform`` (random numbers in [0, 1)).

    Parameters
    ----------
    values
        Expressed values of one cell.
    n_bins
        Number of bins (bins run from 1 to ``n_bins - 1``).
    uniform
        One number in [0, 1) per value, breaking ties at bin edges.

    """
    if values.size == 0:
        return np.zeros(0, dtype=np.float64)
    edges = np.quantile(values, np.linspace(0, 1, n_bins - 1))
    left = np.digitize(values, edges)
    right = np.digitize(values, edges, right=True)
    return np.ceil(uniform * (right - left) + left).astype(np.float64)


def normalise_log1p(x: np.ndarray, *, target_sum: float = 1e4) -> np.ndarray:
    """Scale each cell to ``target_sum`` total counts and take ``log1p`` (empty cells stay zero)."""
    totals = x.sum(axis=1, keepdims=True)
    scale = np.divide(target_sum, totals, out=np.zeros_like(totals), where=totals > 0)
    return np.log1p(x * scale)


def tokenize_scgpt(
    x: np.ndarray,
    gene_tokens: np.ndarray,
    seeds: np.ndarray,
    *,
    cls_id: int,
    pad_id: int,
    pad_value: float,
    n_bins: int = 51,
    max_length: int = 1200,
) -> ScgptTokens:
    """Turn a cells x genes expression matrix into a padded scGPT batch.

    Parameters
    ----------
    x
        Raw counts (or any non-negative expression), cells x genes.
    gene_tokens
        Token id of each column of ``x``.
    seeds
        Per-cell seeds for sampling and tie breaking.
    cls_id, pad_id, pad_value
        Special token ids and the value of ``<cls>`` and padding positions.
    n_bins
        Number of value bins.
    max_length
        Most tokens per cell, ``<cls>`` included.

    """
    x = np.asarray(x)
    rows, cols = np.nonzero(x > 0)
    raw = x[rows, cols].astype(np.float64)
    totals = np.bincount(rows, weights=raw, minlength=x.shape[0])
    values = np.log1p(raw * (1e4 / totals[rows]))  # normalise_log1p on the expressed entries only
    tokens = np.asarray(gene_tokens, dtype=np.int64)[cols]
    n_cells = x.shape[0]
    starts = np.searchsorted(rows, np.arange(n_cells + 1))

    ties = hashed_uniform(seeds[rows], tokens, salt=_SALT_TIES)
    binned = np.empty_like(values)
    for cell in range(n_cells):
        a, b = starts[cell], starts[cell + 1]
        binned[a:b] = bin_values(values[a:b], n_bins, ties[a:b])

    keep = np.ones(len(rows), dtype=bool)
    counts = np.diff(starts)
    if (counts > max_length - 1).any():
        priority = hashed_uniform(seeds[rows], tokens, salt=_SALT_SAMPLE)
        order = np.lexsort((priority, rows))
        rank = np.empty(len(rows), dtype=np.int64)
        rank[order] = np.arange(len(rows)) - starts[rows[order]]
        keep = rank < max_length - 1
    rows, tokens, binned = rows[keep], tokens[keep], binned[keep]
    kept_starts = np.searchsorted(rows, np.arange(n_cells + 1))
    position = 1 + np.arange(len(rows)) - kept_starts[rows]

    width = 1 + int(np.diff(kept_starts).max(initial=0))
    genes_out = np.full((n_cells, width), pad_id, dtype=np.int64)
    values_out = np.full((n_cells, width), pad_value, dtype=np.float32)
    genes_out[:, 0] = cls_id
    genes_out[rows, position] = tokens
    values_out[rows, position] = binned
    padding = np.ones((n_cells, width), dtype=bool)
    padding[:, 0] = False
    padding[rows, position] = False
    return ScgptTokens(torch.from_numpy(genes_out), torch.from_numpy(values_out), torch.from_numpy(padding))
