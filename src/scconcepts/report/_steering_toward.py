"""The report's "steering toward a state" part: the latest run's read-outs beside its controls, and its genes."""

from __future__ import annotations

from html import escape
from typing import Any

import numpy as np
import pandas as pd

#: Controls in the order the table shows them.
ORDER = ("steered", "sign_flipped", "random_concepts", "random_directions", "centroid")
NAMES = {
    "steered": "steered (chosen concepts)",
    "sign_flipped": "same concepts, sign flipped",
    "random_concepts": "random concepts",
    "random_directions": "random directions",
    "centroid": "centroid shift (no concepts)",
}


def _cell(value: Any, percent: bool) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "<td>–</td>"
    return f"<td>{value:.1%}</td>" if percent else f"<td>{value:.1f}</td>"


def controls_table(result: dict[str, Any]) -> str:
    """HTML of the latest steering toward a state: chosen concepts, and every read-out for it and each control."""
    controls = result.get("controls")
    if not isinstance(controls, pd.DataFrame) or controls.empty:
        return ""
    chosen = result.get("concepts")
    concepts = (
        ", ".join(f"{int(c)} ({d:+.2f})" for c, d in zip(chosen["concept"], chosen["effect"], strict=True))
        if isinstance(chosen, pd.DataFrame)
        else ""
    )
    has_de = "de_right_way" in controls
    rows = []
    for name in ORDER:
        match = controls[controls["control"] == name]
        if match.empty:
            continue
        row = match.iloc[0]
        cells = _cell(row.get("landing_knn"), True) + _cell(row.get("landing_classifier"), True)
        if has_de:
            cells += _cell(row.get("de_right_way"), False) + _cell(row.get("de_same_sign"), False)
        rows.append(f"<tr><td>{NAMES[name]}</td>{cells}</tr>")
    de_head = "<th>top-20 DE genes right way (beyond null)</th><th>same sign</th>" if has_de else ""
    markers = result.get("markers") or {}
    marker_text = ", ".join(f"{escape(g)} {v:+.2f}" for g, v in markers.items())
    return (
        '<h4 id="steering-toward">'
        f"{escape(str(result['cells']))} toward {escape(str(result['toward']))}: "
        f"{int(result['n_concepts'])} of {int(result['n_dictionary'])} concepts</h4>"
        f"<p class='muted'>concepts (Cohen's d, target vs source): {escape(concepts)}; codes set "
        f"{result['strength']:g} of the way to the target's {escape(str(result['match']))}; every control has the "
        f"same per-cell norm of change (mean {result['embedding_shift']:.3g}; source-to-target centroid distance "
        f"{result['centroid_distance']:.3g}).{' Markers (log2 FC): ' + marker_text if marker_text else ''}</p>"
        "<table><tr><th>move</th><th>lands among target (kNN majority)</th><th>classified as target</th>"
        f"{de_head}</tr>{''.join(rows)}</table>"
    )


def toward_run(rows: pd.DataFrame) -> str:
    """HTML of one steering toward a state in ``steering.csv``: its reference DE genes and how they moved."""
    first = rows.iloc[0]
    head = (
        f"<h4>{escape(str(first['cells']))} toward {escape(str(first['toward']))} ({int(first['n_cells'])} cells; "
        f"concepts {escape(str(first['concepts']))})</h4>"
    )
    if "de_rank" not in rows:
        return head
    reference = rows[rows["de_rank"].notna()].sort_values("de_rank")
    same = np.sign(reference["lfc"]) == np.sign(reference["de_lfc"])
    beyond = reference["beyond_null"].astype(bool)
    genes = ", ".join(
        f"{escape(str(g))} {v:+.2f}{'' if s else ' (wrong way)'}"
        for g, v, s in zip(reference["gene"], reference["lfc"], same, strict=True)
    )
    return (
        f"{head}<p class='muted'>of the target's top {len(reference)} DE genes against the source, "
        f"{int((same & beyond).sum())} move the right way beyond the null, {int(same.sum())} in the right direction. "
        f"Decoded log2 FC: {genes}</p>"
    )
