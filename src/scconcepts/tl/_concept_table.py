"""The concept table: one row per concept with how often, how strongly and where (which cell types) it fires."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp


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
    and, with labels, ``top_cell_type``, ``top_cell_type_share`` (activation-weighted share of the
    top type) and ``top_cell_type_lift`` (that share over the type's share of all cells); ``label`` is
    a first automatic label that enrichment refines.

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
    codes, types = pd.factorize(pd.Series(labels).astype(str), sort=True)
    membership = sp.csr_matrix((np.ones(n_cells), (codes, np.arange(n_cells))), shape=(len(types), n_cells))
    weight_by_type = np.asarray((membership @ csc).todense())  # types x concepts
    shares = weight_by_type / np.maximum(weight_by_type.sum(0, keepdims=True), 1e-12)
    top = shares.argmax(0)
    background = np.bincount(codes, minlength=len(types)) / max(n_cells, 1)
    table["top_cell_type"] = np.where(table["dead"], "", np.asarray(types)[top])
    table["top_cell_type_share"] = shares[top, np.arange(n_concepts)]
    table["top_cell_type_lift"] = table["top_cell_type_share"] / background[top]
    table["label"] = [
        "dead" if dead else f"{cell_type} ({share:.0%})"
        for dead, cell_type, share in zip(
            table["dead"], table["top_cell_type"], table["top_cell_type_share"], strict=True
        )
    ]
    return table
