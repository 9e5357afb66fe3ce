"""The report's selectivity table (best single component's AUROC per cell type) and per-concept cell-type shares."""

from __future__ import annotations

import math
from html import escape
from typing import Any

#: Columns of the selectivity table: evaluation.json name, heading.
METHODS = (
    ("sae", "concepts (evaluation SAEs)"),
    ("run", "this run's concepts"),
    ("neurons", "best neuron"),
    ("pca", "best PC"),
    ("ica", "best IC"),
    ("nmf", "best NMF"),
    ("dictionary", "best dictionary atom"),
)
#: Methods whose figure is shown with its own chance level below it.
WITH_CHANCE = ("sae", "run")


def _number(value: Any, digits: int = 3) -> str:
    if not isinstance(value, int | float) or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}"


def _cell(row: dict[str, Any], method: str) -> str:
    text = _number(row.get(method))
    chance = row.get(f"{method}_chance")
    if method in WITH_CHANCE and chance is not None:
        text += f'<br><span class="muted">chance {_number(chance)}</span>'
    return text


def selectivity_block(selectivity: Any) -> str:
    """The per-cell-type table, or a line saying it was not measured (the top-cell figures never stand alone)."""
    records = selectivity.get("table") if isinstance(selectivity, dict) else None
    if not isinstance(records, list) or not records:
        return (
            '<div><h4>Best single component per cell type (AUROC)</h4><p class="muted">not measured: rerun '
            "<code>scconcepts evaluate</code> (the share above reads only each component's strongest cells)</p></div>"
        )
    methods = [(m, head) for m, head in METHODS if any(r.get(m) is not None for r in records)]
    mean = selectivity.get("mean") or {}
    rows = [
        f"<tr><td>{escape(str(r.get('label', '')))}</td><td>{_number(r.get('n_cells'), 0)}</td>"
        + "".join(f"<td>{_cell(r, m)}</td>" for m, _ in methods)
        + "</tr>"
        for r in records
    ]
    rows.append("<tr><th>mean</th><td></td>" + "".join(f"<th>{_cell(mean, m)}</th>" for m, _ in methods) + "</tr>")
    head = "".join(f"<th>{escape(h)}</th>" for h in ["cell type", "cells", *(head for _, head in methods)])
    return (
        '<div><h4>Best single component per cell type (AUROC)</h4><table id="selectivity" class="narrow"><thead>'
        f"<tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        '<p class="muted">Each component\'s activation as the score for "the cell is of this type", over all cells; '
        "neurons, PCs, ICs and dictionary atoms in either sign. Chance: the concepts' best AUROC with the cell types "
        "permuted.</p></div>"
    )


def concept_shares_block(selectivity: Any) -> str:
    """Per run concept, folded: its top cell type, its share of the activation mass there and the lift."""
    concepts = selectivity.get("concepts") if isinstance(selectivity, dict) else None
    if not isinstance(concepts, list) or not concepts:
        return ""
    rows = "".join(
        f"<tr><td>{escape(str(c.get('concept')))}</td><td>{escape(str(c.get('top_label') or 'dead'))}</td>"
        f"<td>{_number(c.get('share'), 2)}</td><td>{_number(c.get('mass_share'), 2)}</td>"
        f"<td>{_number(c.get('cell_share'), 2)}</td><td>{_number(c.get('lift'), 2)}</td>"
        f"<td>{_number(c.get('auroc'))}</td></tr>"
        for c in concepts
    )
    head = "".join(
        f"<th>{h}</th>"
        for h in ("concept", "top cell type", "share (per cell)", "of the activation", "of the cells", "lift", "AUROC")
    )
    return (
        '<details id="concept-shares"><summary>Per concept: its top cell type\'s share of the activation mass, '
        "against the type's share of cells (lift)</summary>"
        f'<table class="narrow"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></details>'
    )
