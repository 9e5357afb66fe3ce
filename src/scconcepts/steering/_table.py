"""Rows of ``steering.csv`` for a steering toward a state (added beside issue 15's per-concept rows)."""

from __future__ import annotations

from typing import Any

import pandas as pd

#: ``concept`` of a steering toward a state in ``steering.csv`` (its concepts are listed in ``concepts``).
SEVERAL = -1


def toward_rows(result: dict[str, Any]) -> pd.DataFrame:
    """One row per decoded gene of a steering toward a state.

    Columns: the run (``concept`` -1, ``value`` "toward TARGET", ``cells``), the gene table, and the run's
    ``toward``, ``concepts`` (ids joined by ``;``), ``strength``, ``match``; the target's DE rank and log fold
    change against the source for the reference genes (``de_rank``, ``de_lfc``).
    """
    genes = result.get("genes")
    frame = genes.copy() if isinstance(genes, pd.DataFrame) else pd.DataFrame(columns=["gene"])
    reference = result.get("reference_de")
    if isinstance(reference, pd.DataFrame) and len(frame):
        frame = frame.merge(reference[["gene", "de_rank", "de_lfc"]], on="gene", how="left")
    run = {
        "concept": SEVERAL,
        "value": f"toward {result['toward']}",
        "cells": result["cells"],
        "n_cells": result["n_cells"],
    }
    for position, (column, value) in enumerate(run.items()):
        frame.insert(position, column, value)
    frame["toward"] = result["toward"]
    frame["concepts"] = ";".join(str(c) for c in result["concepts"]["concept"])
    frame["strength"] = result["strength"]
    frame["match"] = result["match"]
    return frame
