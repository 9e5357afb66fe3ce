"""The long steering table (``steering.csv``): one row per steering run and gene."""

from __future__ import annotations

from typing import Any

import pandas as pd

#: Columns identifying one steering run in ``steering.csv``.
RUN_COLUMNS = ["concept", "value", "cells"]


def steering_rows(result: dict[str, Any]) -> pd.DataFrame:
    """Rows of ``steering.csv`` for one result of :func:`scconcepts.tl.steer` (genes; none without a decoder)."""
    genes = result.get("genes")
    if not isinstance(genes, pd.DataFrame):
        genes = pd.DataFrame(columns=["gene"])
    frame = genes.copy()
    for position, column in enumerate(RUN_COLUMNS):
        frame.insert(position, column, result[column])
    frame.insert(len(RUN_COLUMNS), "n_cells", result["n_cells"])
    return frame


def merge_steering(old: pd.DataFrame | None, new: pd.DataFrame) -> pd.DataFrame:
    """``old`` rows of other runs followed by ``new`` (a run steered again replaces its earlier rows)."""
    if old is None or old.empty:
        return new.reset_index(drop=True)
    old = old.astype({"concept": int, "value": str, "cells": str})
    runs = set(map(tuple, new[RUN_COLUMNS].astype(str).drop_duplicates().to_numpy()))
    keep = [tuple(map(str, r)) not in runs for r in old[RUN_COLUMNS].to_numpy()]
    return pd.concat([old[keep], new], ignore_index=True)
