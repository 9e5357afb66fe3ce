"""The explorer's "toward" form: steer a cell type (or query) toward another, with the controls' read-outs."""

from __future__ import annotations

from typing import Any

import numpy as np

#: Draws of the random controls and null directions the explorer computes (kept small: it answers on demand).
N_DRAWS = 5
N_GENES = 10


def toward_document(steerer: Any, cells: str, toward: str) -> dict[str, Any]:
    """The explorer's document for ``cells`` steered toward ``toward`` (chosen concepts, controls, genes)."""
    from scconcepts import tl

    adata, encoder, sae = steerer.load()
    expression = encoder.decodes_to is not None
    result = tl.steer(
        adata,
        cells=cells,
        toward=toward,
        encoder=encoder,
        sae=sae,
        expression=expression,
        n_null=N_DRAWS,
        n_draws=N_DRAWS,
    )
    chosen = result["concepts"]
    reference = result.get("reference_de")
    genes = []
    if reference is not None:
        for row in reference.head(N_GENES).itertuples():
            genes.append({"gene": row.gene, "de_lfc": float(row.de_lfc), "lfc": float(row.lfc_steered)})
    return {
        "cells": result["cells"],
        "toward": result["toward"],
        "n_cells": result["n_cells"],
        "n_concepts": result["n_concepts"],
        "n_dictionary": result["n_dictionary"],
        "concepts": [
            {"concept": int(c), "label": str(label), "effect": float(d)}
            for c, label, d in zip(chosen["concept"], chosen["label"], chosen["effect"], strict=True)
        ],
        "controls": [
            {k: (float(v) if isinstance(v, float | np.floating | int | np.integer) else str(v)) for k, v in row.items()}
            for row in result["controls"].to_dict(orient="records")
        ],
        "markers": {g: float(v) for g, v in (result.get("markers") or {}).items()},
        "genes": genes,
        "note": "" if expression else f"the {encoder.name} model has no expression decoder: landing only",
    }
