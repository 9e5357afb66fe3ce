"""The evaluation as JSON: tables as lists of records, NaN as null."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd


def to_jsonable(value: Any) -> Any:
    """Convert an evaluation dict (DataFrames, numpy scalars, NaN) into plain JSON-ready values."""
    if isinstance(value, pd.DataFrame):
        frame = value.reset_index() if value.index.name is not None else value
        return [to_jsonable(row) for row in frame.to_dict(orient="records")]
    if isinstance(value, dict):
        return {str(name): to_jsonable(item) for name, item in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [to_jsonable(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
