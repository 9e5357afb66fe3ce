"""Faithfulness: taking a concept's top attributed genes away together lowers it more than chance genes do."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from scconcepts import tl
from scconcepts.evaluation import deletion_fall

from .conftest import DECOY, DRIVERS


def _top(values: np.ndarray, n: int = 5) -> np.ndarray:
    return np.argsort(-values, kind="stable")[:n]


def test_top_attributed_genes_lower_the_concept_more_than_random_and_de(planted):
    adata, encoder, concepts = planted
    tl.attribute(adata, encoder=encoder, sae=concepts, n_cells=30)
    score, de = adata.varm["concepts_attribution"], adata.varm["concepts_de"]
    x, activations = sp.csr_matrix(adata.X), sp.csr_matrix(adata.obsm["X_concepts"])
    for k in DRIVERS:
        sets = {"attributed": _top(score[:, k]), "de": _top(de[:, k]), "decoy": [DECOY]}
        falls = deletion_fall(encoder, concepts.encode, x, activations, k, sets, n_cells=30)
        assert falls["attributed"] > 0.5, falls
        assert falls["attributed"] > falls["random"] + 3 * falls["random_sd"], falls
        assert falls["attributed"] >= falls["de"] - 1e-6, falls
        assert abs(falls["decoy"]) < 1e-6  # the encoder never reads the decoy
        if k == 0 and DECOY in sets["de"]:  # DE ranks the decoy high: its top-5 holds one driver less
            assert falls["attributed"] > falls["de"]
