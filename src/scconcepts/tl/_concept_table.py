"""The concept table: one row per concept with how often, how strongly and where (which cell types) it fires."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from scconcepts.stats import type_shares


def concept_table(activations: sp.csr_matrix, labels: pd.Series | None = None) -> pd.DataFrame:
    """Summarise each concept of a cells x concepts activation matrix.

    Parameters
    ----------
    activations
        Non-negative cells x concepts matrix (CSR).
    labels
        Cell types of the cells, if known.

    Returns
    -------
    A frame indexed by concept id (as a string) with ``n_cells`` (cells where it fires), ``frequency``
    (their share), ``mean_activation`` (over those cells), ``max_activation``, ``dead`` (never fires),
    and, with labels, the cell types of :func:`scconcepts.stats.type_shares` (the definition every
    reader of a concept uses): ``top_cell_type`` (the type with the highest mean activation per cell),
    ``top_cell_type_share`` (its share: mean activation per cell of the type, normalised to 1 over
    types), ``top_cell_type_mass_share`` (its share of the concept's activation mass) and
    ``top_cell_type_lift`` (that mass share over the type's share of all cells); ``label`` is a first
    automatic label that enrichment refines.

    """
    csc = activations.tocsc()
    n_cells, n_concepts = csc.shape
    fired = np.diff(csc.indptr)
    totals = np.asarray(csc.sum(0)).ravel()
    table = pd.DataFrame(
        {
            "n_cells": fired,
            "frequency": fired / max(n_cells, 1),
            "mean_activation": np.divide(totals, fired, out=np.zeros(n_concepts), where=fired > 0),
            "max_activation": csc.max(0).toarray().ravel() if n_cells else np.zeros(n_concepts),
            "dead": fired == 0,
        },
        index=pd.Index([str(i) for i in range(n_concepts)], name="concept"),
    )
    if labels is None:
        table["label"] = [f"concept {i}" for i in range(n_concepts)]
        return table
    shares = type_shares(csc, labels)
    top = shares.top()
    alive = top >= 0

    def at_top(matrix: np.ndarray) -> np.ndarray:
        if not len(shares.types):
            return np.zeros(n_concepts)
        return np.where(alive, matrix[np.maximum(top, 0), np.arange(n_concepts)], 0.0)

    table["top_cell_type"] = np.where(alive, shares.types[np.maximum(top, 0)] if len(shares.types) else "", "")
    table["top_cell_type_share"] = at_top(shares.share)
    table["top_cell_type_mass_share"] = at_top(shares.mass_share)
    table["top_cell_type_lift"] = at_top(shares.lift)
    table["label"] = [
        f"{cell_type} ({share:.0%})" if cell_type else "dead"
        for cell_type, share in zip(table["top_cell_type"], table["top_cell_type_share"], strict=True)
    ]
    return table
