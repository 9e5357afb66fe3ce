"""The report's "what if" section: steered concepts, the genes they move beyond the null, where the cells land."""

from __future__ import annotations

import logging
from html import escape
from pathlib import Path
from typing import Any

import anndata as ad
import pandas as pd

from scconcepts._keys import steering_key
from scconcepts.report._steering_toward import controls_table, toward_run
from scconcepts.report._svg import bars_svg
from scconcepts.results import RESULTS_H5AD

logger = logging.getLogger(__name__)

STEERING_CSV = "steering.csv"
N_GENES = 8


def _latest(folder: Path, key: str) -> dict[str, Any] | None:
    try:
        adata = ad.read_h5ad(folder / RESULTS_H5AD, backed="r")
    except OSError:
        return None
    try:
        result = adata.uns.get(steering_key(key))
        return dict(result) if result is not None else None
    finally:
        adata.file.close()


def _run(rows: pd.DataFrame) -> str:
    called = rows[rows["beyond_null"].astype(bool)] if "beyond_null" in rows else rows.iloc[:0]
    down = called[called["lfc"] < 0].nsmallest(N_GENES, "lfc")
    up = called[called["lfc"] > 0].nlargest(N_GENES, "lfc")
    bars = [(g, v) for g, v in zip(up["gene"], up["lfc"], strict=True)]
    bars += [(g, v) for g, v in zip(down["gene"][::-1], down["lfc"][::-1], strict=True)]
    first = rows.iloc[0]
    head = (
        f"<h4>Concept {int(first['concept'])}, value {escape(str(first['value']))}, cells "
        f"{escape(str(first['cells']))} ({int(first['n_cells'])} cells)</h4>"
    )
    if not bars:
        return head + f'<p class="muted">no gene moves beyond the null ({len(rows)} genes decoded)</p>'
    null = rows["null_abs_lfc"].median() if "null_abs_lfc" in rows else float("nan")
    return (
        head + f"<p class='muted'>{len(called)} of {len(rows)} genes beyond the null (adj. p &lt; 0.05 and |log2 FC| "
        f"above the 95th percentile of random directions of the same norm; median null |log2 FC| {null:.3g})</p>"
        + bars_svg(bars)
    )


def _landing(result: dict[str, Any]) -> str:
    shares = result.get("landing")
    if not isinstance(shares, pd.DataFrame) or shares.empty:
        return ""
    body = "".join(
        f"<tr><td>{escape(str(r.cell_type))}</td><td>{r.share_original:.1%}</td><td>{r.share_steered:.1%}</td>"
        f"<td class='muted'>{r.share_null:.1%}</td></tr>"
        for r in shares.head(6).itertuples()
    )
    run = f"concept {int(result['concept'])}, {escape(str(result['value']))}"
    return (
        f"<h4>Where the steered cells land (latest run: {run})</h4>"
        "<table><tr><th>neighbours' cell type</th><th>original</th><th>steered</th><th>random shift</th></tr>"
        f"{body}</table>"
    )


def steering_section(folder: str | Path, *, key: str = "concepts") -> str:
    """HTML of the steering section of ``report.html`` (empty when nothing was steered)."""
    folder = Path(folder)
    path = folder / STEERING_CSV
    if not path.is_file():
        return ""
    try:
        table = pd.read_csv(path)
    except (OSError, ValueError) as error:
        logger.warning("%s cannot be read (%s); the report leaves steering out", path, error)
        return '<h2 id="steering">What if: steering</h2><p class="muted">steering.csv cannot be read</p>'
    toward = table["toward"].notna() if "toward" in table else pd.Series(False, index=table.index)
    runs = [_run(rows) for _, rows in table[~toward].groupby(["concept", "value", "cells"], sort=False)]
    runs += [toward_run(rows) for _, rows in table[toward].groupby(["value", "cells"], sort=False)]
    latest = _latest(folder, key)
    landing = _landing(latest) if latest and "concept" in latest else ""
    if latest and isinstance(latest.get("toward"), dict):
        landing = controls_table(latest["toward"]) + landing
    return (
        f'<h2 id="steering">What if: steering</h2><p class="muted">Each concept switched off or turned up in the '
        "chosen cells (or the concepts separating a target state set to the target's codes), the embedding rebuilt "
        "with the SAE's error term and decoded to expression by the model; log2 fold change steered vs original, "
        "paired across cells.</p>"
        f"{landing}{''.join(runs)}"
    )
