"""The report's first screen: what was run, the key figures beside their chance levels, parameters folded away."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

from scconcepts.app._data import ConceptResults
from scconcepts.genesets._terms import coverage_line
from scconcepts.results import EVALUATION_JSON, METRICS_JSON
from scconcepts.stats._faithfulness import N_SD, faithfulness_summary
from scconcepts.tl._term_members import HELD_OUT, LABEL_MARK
from scconcepts.tl._term_members import N_TOP as TERM_TOP

#: Evaluation metrics shown in the summary (SAE row), with what they mean.
EVALUATION_METRICS = {
    "purity": "top-cell purity",
    "pure_share": "share of concepts ≥80% one cell type",
    "explanation_auroc": "explanation AUROC (top genes predict the active cells)",
    "grounding_excess": "GO grounding in excess of random directions",
}

#: Baselines shown beside the concepts' selectivity: evaluation.json name, what the summary calls them.
SELECTIVITY_BASELINES = {"neurons": "best neuron", "pca": "best PC", "ica": "best IC", "nmf": "best NMF component"}


def _e(value: Any) -> str:
    return escape("" if value is None else str(value))


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3g}"
    return _e(value)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def what_was_run(data: ConceptResults) -> str:
    """One sentence: data, model, SAE shape and labels key."""
    manifest, params = data.manifest, data.params
    source = manifest.get("dataset") or manifest.get("input") or "cells given in Python"
    labels = data.labels_key if data.cell_types is not None else "none"
    if data.token.run:
        return _what_was_run_on_tokens(data, source, labels)
    return (
        f"<p class='lead'>{data.n_cells:,} cells of <b>{_e(source)}</b>, {len(data.genes):,} genes, embedded by "
        f"<b>{_e(params.get('model', '?'))}</b> ({_e(params.get('embedding_dim', '?'))} dimensions); "
        f"Top-K SAE with <b>{data.n_concepts}</b> concepts (k = {_e(params.get('k', '?'))}, expansion "
        f"{_e(params.get('expansion', '?'))}, seed {_e(params.get('seed', '?'))}); cell types from "
        f"<code>obs[{_e(repr(labels))}]</code>.</p>"
    )


def _what_was_run_on_tokens(data: ConceptResults, source: str, labels: str | None) -> str:
    """:func:`what_was_run` for a ``run --tokens`` folder: the layer, the tokens and what per cell / per gene mean."""
    params, store = data.params, data.token.store or {}
    limit = params.get("max_tokens_per_cell", store.get("max_tokens_per_cell"))
    median = store.get("median_tokens_per_cell")
    return (
        f"<p class='lead' id='token-run'><b>Token run</b>: {data.n_cells:,} cells of <b>{_e(source)}</b>, "
        f"{len(data.genes):,} genes; the gene-token states of <b>{_e(params.get('model', '?'))}</b> at "
        f"<b>{_e(params.get('layer', store.get('layer', '?')))}</b> ({_fmt(params.get('embedding_dim', '?'))} "
        f"dimensions, {_fmt(params.get('n_tokens', store.get('n_tokens', '?')))} tokens, median "
        f"{_fmt(median)} per cell, at most {_e('all' if limit is None else limit)} per cell); Top-K SAE with "
        f"<b>{data.n_concepts}</b> concepts (k = {_e(params.get('k', '?'))}, expansion "
        f"{_e(params.get('expansion', '?'))}, seed {_e(params.get('seed', '?'))}); cell types from "
        f"<code>obs[{_e(repr(labels))}]</code>. A concept's activation in a cell is its maximum over the cell's "
        f"tokens; its gene tokens are the genes whose token it activates most (mean over the cells where the "
        f"token is present), beside the genes that cause it (counterfactual attribution).</p>"
    )


def _rows(data: ConceptResults) -> list[tuple[str, Any, str, str]]:
    """(figure, value, chance level, what the chance level is) for the key metrics that exist."""
    m = data.metrics
    rows: list[tuple[str, Any, str, str]] = []
    if "r2" in m:
        rows.append(("held-out R² (reconstruction)", m["r2"], "0", "predicting every cell by the mean"))
    if "l0" in m:
        rows.append(("active concepts per cell (L0)", m["l0"], "–", f"at most k = {data.params.get('k', '?')}"))
    if "dead_fraction" in m:
        rows.append(("dead concepts (held-out)", m["dead_fraction"], "–", "never fire on held-out cells"))
    n_types = len(data.cell_types.categories) if data.cell_types is not None else 0
    chance = f"{1 / n_types:.3g}" if n_types else "–"
    why = f"balanced accuracy of guessing among {n_types} cell types" if n_types else ""
    for name, what in (("accuracy_concepts", "from concepts"), ("accuracy_embedding", "from the embedding")):
        if name in m:
            spread = m.get(f"{name}_std")
            value = f"{m[name]:.3f} ± {spread:.3f}" if spread is not None else m[name]
            rows.append((f"cell-type balanced accuracy {what}", value, chance, why))
    coverage = data.term_coverage  # the figure of the log, `info` and metrics.json (genesets.term_coverage)
    if coverage is not None:
        rows.append(("concepts with a term", coverage_line(coverage), "–", ""))
    elif skipped := _read_json(data.folder / METRICS_JSON).get("enrichment", {}).get("skipped"):
        rows.append(("concepts with a term", "not computed", "–", f"enrichment skipped: {skipped}"))
    return rows + _term_member_rows(data) + _faithfulness_rows(data) + _evaluation_rows(data.folder)


def _term_member_rows(data: ConceptResults) -> list[tuple[str, Any, str, str]]:
    """Share of labelled concepts whose term holds beyond their top genes (held-out members vs matched genes)."""
    if "term_support" not in data.table:
        return []
    tested = data.table["term_support"].astype(str)
    tested = tested[tested != ""]
    if tested.empty:
        return []
    held = int((tested == HELD_OUT).sum())
    value = f"{held} of {len(tested)} labels ({held / len(tested):.0%})"
    why = (f"the term's members outside the concept's top-{TERM_TOP} attributed genes, set to the baseline in its "
           f"top cells, lower it beyond expression-matched random genes (mean + {N_SD} sd); the others are marked "
           f"'{LABEL_MARK.strip()}'")  # fmt: skip
    return [("labels whose term holds beyond its top genes", value, "matched random genes", why)]


def _faithfulness_rows(data: ConceptResults) -> list[tuple[str, Any, str, str]]:
    """Shares of concepts whose top attributed genes lower them at least as far as DE's, and beyond random's."""
    summary = faithfulness_summary(data.table)
    if summary is None:
        return []
    n = data.faithfulness_params.get("n_genes", 10)
    value = (f"{summary['share_beats_de']:.0%} at least as far as top-{n} DE · {summary['share_beats_random']:.0%} "
             f"beyond random (of {summary['n_concepts']} concepts)")  # fmt: skip
    why = (f"random: {n} expressed genes, mean + {N_SD} sd of {data.faithfulness_params.get('n_random', '?')} draws; "
           f"median falls: attributed {summary['median_fall_attributed']:.0%}, DE {summary['median_fall_de']:.0%}, "
           f"random {summary['median_fall_random']:.0%}")  # fmt: skip
    figure = f"concepts whose top-{n} attributed genes, set to the baseline, lower them (faithfulness)"
    return [(figure, value, f"{summary['median_fall_random']:.0%} fall", why)]


def _evaluation_rows(folder: Path) -> list[tuple[str, Any, str, str]]:
    """The SAE's evaluation figures; the chance level from a ``<metric>_chance`` field or a random baseline row."""
    evaluation = _read_json(folder / EVALUATION_JSON)
    table = evaluation.get("table")
    table = [r for r in table if isinstance(r, dict)] if isinstance(table, list) else []
    sae = next((r for r in table if r.get("method") == "sae"), None)
    if sae is None:
        return []
    null = next((r for r in table if any(w in str(r.get("method", "")) for w in ("random", "chance"))), None)
    rows = []
    for name, what in EVALUATION_METRICS.items():
        if sae.get(name) is None:
            continue
        recorded = evaluation.get("chance")
        chance = sae.get(f"{name}_chance", recorded.get(name) if isinstance(recorded, dict) else None)
        source = "recorded by the evaluation"
        if chance is None and name.endswith("_excess"):
            pvalue = sae.get(name.replace("_excess", "_pvalue"))
            chance, source = 0.0, "an excess: 0 is chance" + (f" (one-sided p = {pvalue:.2g})" if pvalue else "")
        if chance is None and null is not None and null.get(name) is not None:
            chance, source = null[name], f"the {null['method']} baseline"
        rows.append((f"{what} (evaluation)", sae[name], _fmt(chance), source if chance is not None else ""))
        if name == "pure_share":  # the top-cell figures are never shown without the reading of every cell
            rows += _selectivity_rows(evaluation.get("selectivity"))
    return rows


def _selectivity_rows(selectivity: Any) -> list[tuple[str, Any, str, str]]:
    """The best concept's AUROC per cell type (mean over types) beside its chance level and the baselines'."""
    mean = selectivity.get("mean") if isinstance(selectivity, dict) else None
    if not isinstance(mean, dict) or mean.get("sae") is None:
        why = "rerun scconcepts evaluate: the top-cell figures above read only each concept's strongest cells"
        return [("best concept's AUROC per cell type (selectivity)", "not measured", "–", why)]
    others = ", ".join(f"{name} {mean[m]:.3f}" for m, name in SELECTIVITY_BASELINES.items() if mean.get(m) is not None)
    n_types = len(selectivity.get("table") or [])
    rows = [(f"best concept's AUROC per cell type, mean over {n_types} (selectivity, evaluation)", mean["sae"],
             _fmt(mean.get("chance")), f"cell types permuted; beside: {others}")]  # fmt: skip
    if mean.get("run") is not None:
        rows.append(("the same, this run's concepts", mean["run"], _fmt(mean.get("run_chance")), "cell types permuted"))
    return rows


def metrics_table(data: ConceptResults) -> str:
    """The key figures, each with its chance level where one is defined."""
    body = "".join(
        f"<tr><td>{_e(name)}</td><td>{_fmt(value)}</td><td>{_e(chance)}</td><td class='muted'>{_e(why)}</td></tr>"
        for name, value, chance, why in _rows(data)
    )
    head = "<tr><th>figure</th><th>value</th><th>chance level</th><th>chance means</th></tr>"
    return f'<table id="key-metrics" class="narrow"><thead>{head}</thead><tbody>{body}</tbody></table>'


def parameters(data: ConceptResults) -> str:
    """Every recorded parameter and metric, folded in a ``<details>``."""
    items = "".join(
        f"<dt>{_e(k)}</dt><dd>{_fmt(v)}</dd>"
        for k, v in {**data.params, **data.metrics}.items()
        if not isinstance(v, dict)
    )
    return f'<details id="parameters"><summary>All parameters and metrics</summary><dl>{items}</dl></details>'
