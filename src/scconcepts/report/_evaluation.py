"""The report's evaluation section, from a results folder's ``evaluation.json`` (all text escaped)."""

from __future__ import annotations

import json
import math
from html import escape
from pathlib import Path
from typing import Any

from scconcepts.report._selectivity import concept_shares_block, selectivity_block
from scconcepts.report._svg import bars_svg
from scconcepts.results import EVALUATION_JSON

#: Table columns: JSON name, heading.
METRIC_COLUMNS = (
    ("r2", "R²"),
    ("l0", "L0"),
    ("dead_fraction", "dead"),
    ("accuracy", "balanced accuracy"),
    ("purity", "purity"),
    ("ami", "AMI"),
    ("pure_share", "share ≥80% one type"),
    ("explanation_auroc", "explanation AUROC"),
    ("explanation_spearman", "explanation Spearman"),
    ("grounding", "GO grounding"),
    ("grounding_excess", "grounding excess over random directions"),
    ("grounding_specific", "specific grounding (one term holds ≥ half the top 10 genes)"),
    ("grounding_specific_excess", "specific grounding excess"),
    ("grounding_distinct", "distinct top terms per component"),
    ("grounding_distinct_excess", "distinct top terms excess"),
)


def _value(mean: Any, std: Any = None) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "–"
    text = f"{mean:.3f}" if isinstance(mean, float) else escape(str(mean))
    return text if std is None else f"{text} ± {std:.3f}"


def _table(head: list[str], rows: list[list[str]]) -> str:
    cells = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


def _cell(row: dict[str, Any], name: str) -> str:
    """A metric's mean ± sd, its chance level below it (or the p-value of an excess)."""
    text = _value(row.get(name), row.get(f"{name}_std"))
    if row.get(f"{name}_chance") is not None:
        text += f'<br><span class="muted">chance {_value(row[f"{name}_chance"], row.get(f"{name}_chance_sd"))}</span>'
    pvalue = row.get(name.replace("_excess", "_pvalue")) if name.endswith("_excess") else None
    if pvalue is not None:
        text += f'<br><span class="muted">p {pvalue:.2g}</span>'
    return text


def _metrics_table(table: list[dict[str, Any]]) -> str:
    columns = [(name, head) for name, head in METRIC_COLUMNS if any(row.get(name) is not None for row in table)]
    rows = [
        [escape(str(row["method"])), _value(row.get("n_components")), _value(row.get("n_seeds"))]
        + [_cell(row, name) for name, _ in columns]
        for row in table
    ]
    return _table(["method", "components", "seeds"] + [head for _, head in columns], rows)


def _stability_table(within: dict[str, Any], cross: dict[str, Any]) -> str:
    across = cross.get("methods", {})
    name = escape(str(cross.get("name", "")))
    rows = []
    for method in dict.fromkeys([*within, *across]):
        row = [escape(method)]
        for runs in (within.get(method), across.get(method)):
            if runs is None:
                row += ["–", "–"]
            else:
                row += [
                    _cell({**runs, "matched_cosine_chance": None}, "matched_cosine")
                    + _chance_note(runs, "matched_cosine"),
                    _value(runs.get("reproduced"), runs.get("reproduced_std")) + _chance_note(runs, "reproduced"),
                ]
        rows.append(row)
    head = ["method", "cosine across seeds", "reproduced (> 0.9) across seeds"]
    head += [f"cosine vs {name}", f"reproduced vs {name}"] if across else ["across datasets", ""]
    return _table(head, rows)


def _chance_note(runs: dict[str, Any], name: str) -> str:
    chance = runs.get(f"{name}_chance")
    return "" if chance is None else f'<br><span class="muted">random atoms {_value(chance)}</span>'


def _sweep_table(sweep: list[dict[str, Any]]) -> str:
    rows = [[_value(r.get(n)) for n in ("k", "expansion", "n_concepts", "r2", "l0", "dead_fraction")] for r in sweep]
    return _table(["k", "expansion", "concepts", "R²", "L0", "dead"], rows)


def evaluation_section(folder: str | Path) -> str:
    """HTML of the evaluation section, or ``""`` when the folder has no ``evaluation.json``.

    Parameters
    ----------
    folder
        Results folder; ``evaluation.json`` is written there by ``scconcepts evaluate``.

    """
    path = Path(folder) / EVALUATION_JSON
    if not path.is_file():
        return ""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return _section(data)
    except (ValueError, AttributeError, TypeError, KeyError):
        return f'<h2 id="evaluation">Evaluation</h2><p class="muted">{EVALUATION_JSON} is not readable.</p>'


def _rows_note(params: dict[str, Any]) -> str:
    """For a token run: what the rows were (gene tokens, labelled by their cell), and what was not measured."""
    rows = params.get("rows")
    if rows in (None, "cells"):
        return ""
    return (
        f'<p class="muted">Token run: every method was fitted and measured on {escape(str(rows))} (the held-out '
        "counts above are tokens of held-out cells); grounding and the explanation score are not measured on "
        "tokens.</p>"
    )


def _section(data: dict[str, Any]) -> str:
    params = data.get("params", {})
    table = data.get("table", [])
    seeds = ", ".join(str(s) for s in params.get("seeds", []))
    purity = [(str(r["method"]), float(r["pure_share"])) for r in table if r.get("pure_share") is not None]
    fidelity = [(str(r["method"]), float(r["r2"])) for r in table if r.get("r2") is not None]
    cross = data.get("cross_dataset") or {}
    parts = [
        '<h2 id="evaluation">Evaluation</h2>',
        f'<p class="muted">Concepts against baselines on the same embedding; mean ± sd over seeds {escape(seeds)}; '
        f"k {_value(params.get('k'))}, expansion {_value(params.get('expansion'))}; "
        f"{_value(params.get('n_cells_heldout'))} held-out cells. Under each figure its chance level: purity, AMI "
        "and share ≥80% one type with the cell types permuted; the explanation score (how well a component's top "
        "specific training-cell genes, scored on held-out cells alone, pick out its top cells: AUROC, and follow its "
        "activation: Spearman) with random gene sets of the same size; grounding with as many random directions of "
        "the embedding through the same attribution and enrichment, averaged over several draws (excess and "
        "one-sided Fisher p against every draw's directions; signed baselines grounded on both sides of each axis); "
        "stability with random unit atoms of the same count and dimension.</p>",
        _rows_note(params),
        _metrics_table(table),
        '<div class="row">',
        f"<div><h4>Held-out R²</h4>{bars_svg(fidelity)}</div>" if fidelity else "",
        f"<div><h4>Share of components ≥80% one cell type</h4>{bars_svg(purity)}</div>" if purity else "",
        selectivity_block(data.get("selectivity")) if purity or data.get("selectivity") else "",
        "</div>",
        concept_shares_block(data.get("selectivity")),
        "<h3>Stability</h3>",
        _stability_table(data.get("stability", {}), cross),
    ]
    if cross:
        parts.append(
            f'<p class="muted">Across datasets: the second dataset ({escape(str(cross.get("name")))}, '
            f"{_value(cross.get('n_cells'))} cells) embedded by the same model; each method fitted on it apart, "
            "every run there matched with every run here (Hungarian matching on |cosine|; no pair shares a seed).</p>"
        )
    if data.get("sweep"):
        parts += ["<h3>k × expansion sweep</h3>", _sweep_table(data["sweep"])]
    return "".join(parts)
