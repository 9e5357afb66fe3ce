"""Decoded expression of moved embeddings, judged gene by gene against random directions of the same norm."""

from __future__ import annotations

import numpy as np
import pandas as pd
from anndata import AnnData

from scconcepts.models import Encoder
from scconcepts.stats import paired_log_test, random_directions

#: Adjusted p-value below which a gene counts as changed (as in :func:`scconcepts.tl.steer`).
ALPHA = 0.05


class GeneJudge:
    """Decode moved embeddings of the same cells and call the genes that move beyond the null.

    The null is ``n_null`` random directions, each scaled to the per-cell norm of ``change`` (the real move);
    a gene moves beyond it when its paired test has ``padj < ALPHA`` and its ``|lfc|`` exceeds the 95th
    percentile of its ``|lfc|`` over the null draws, as in :func:`scconcepts.tl.steer`.
    """

    def __init__(
        self, encoder: Encoder, cells: AnnData, original: np.ndarray, change: np.ndarray, *, n_null: int, seed: int
    ) -> None:
        self.encoder, self.cells, self.original = encoder, cells, np.asarray(original, dtype=np.float64)
        self.pseudo = float(encoder.decode_pseudo_count)
        self.before = encoder.decode_expression(self.original.astype(np.float32), cells)
        null = [self._lfc(draw) for draw in random_directions(change, n_null, seed=seed)]
        self.n_null = len(null)
        self.null_abs = np.quantile(np.abs(np.asarray(null)), 0.95, axis=0) if null else np.zeros(self.before.shape[1])
        self.null_max = float(np.abs(np.asarray(null)).max(axis=1).mean()) if null else 0.0

    def _decode(self, change: np.ndarray) -> np.ndarray:
        return self.encoder.decode_expression((self.original + change).astype(np.float32), self.cells)

    def _lfc(self, change: np.ndarray) -> np.ndarray:
        return paired_log_test(self.before, self._decode(change), pseudo_count=self.pseudo).lfc

    def table(self, change: np.ndarray) -> pd.DataFrame:
        """Gene table of one move: gene, lfc, t, pval, padj, mean_original, mean_steered, null_abs_lfc, beyond_null."""
        after = self._decode(change)
        test = paired_log_test(self.before, after, pseudo_count=self.pseudo)
        return pd.DataFrame(
            {
                "gene": list(self.encoder.genes),
                "lfc": test.lfc,
                "t": test.t,
                "pval": test.pval,
                "padj": test.padj,
                "mean_original": self.before.mean(axis=0),
                "mean_steered": after.mean(axis=0),
                "null_abs_lfc": self.null_abs,
                "beyond_null": (test.padj < ALPHA) & (np.abs(test.lfc) > self.null_abs),
            }
        )
