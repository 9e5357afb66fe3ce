"""Assemble the self-contained ``report.html``: catalogue and one card per concept with inline plots."""

from __future__ import annotations

import logging
from contextlib import ExitStack
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

from scconcepts._progress import progress
from scconcepts.app import _pages
from scconcepts.app._annotations import AnnotationStore
from scconcepts.app._data import ConceptResults
from scconcepts.report._evaluation import evaluation_section
from scconcepts.report._raster import MapRaster
from scconcepts.report._steering import steering_section
from scconcepts.report._summary import metrics_table, parameters, what_was_run
from scconcepts.report._svg import bars_svg, histogram_svg

logger = logging.getLogger(__name__)

REPORT_HTML = "report.html"
#: Width and height of each concept's map in pixels (large enough to see which cells fire).
MAP_SIZE = 360

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;color:#1d2433;margin:0 auto;max-width:1200px;padding:1rem 1.5rem}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{text-align:left;padding:3px 6px;
border-bottom:1px solid #e5e7eb;vertical-align:top}th{background:#f1f5f9}.muted{color:#6b7280}
table.narrow{width:auto}p.lead{font-size:15px;max-width:60rem}
details.card{border:1px solid #e5e7eb;border-radius:6px;padding:.4rem 1rem;margin:.4rem 0}
details.card[open]{padding-bottom:.8rem}details.card>summary{cursor:pointer;font-weight:600}
details.card>summary .muted{font-weight:400}
.row{display:flex;flex-wrap:wrap;gap:1.2rem;align-items:flex-start}.row>div{min-width:220px}
h4{margin:.2rem 0 .3rem;font-size:13px}img.map{width:360px;height:360px;
image-rendering:pixelated;border:1px solid #e5e7eb}svg text{font-size:10px;fill:#374151}
svg.hist rect{fill:#7c3aed}svg.bars rect.pos{fill:#2563eb}svg.bars rect.neg{fill:#dc2626}
svg.bars line{stroke:#94a3b8}dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 10px;margin:0}
dt{color:#6b7280}dd{margin:0}#parameters{margin:.8rem 0}#parameters summary{cursor:pointer;color:#2563eb}
"""


def _e(value: Any) -> str:
    return escape("" if value is None else str(value))


def _num(value: Any) -> str:
    return "–" if value is None else f"{value:.3g}" if isinstance(value, float) else _e(value)


def _catalogue(rows: list[dict[str, Any]], notes: dict[str, dict[str, Any]]) -> str:
    body = []
    for r in rows:
        note = notes.get(str(r["id"]), {})
        verdict = {True: "yes", False: "no"}.get(note.get("interpretable"), "–")
        types = ", ".join(f"{t['cell_type']} ({t['share']:.0%})" for t in r["top_cell_types"] if t["share"] is not None)
        body.append(
            f'<tr><td><a href="#c{r["id"]}">{r["id"]}</a></td><td>{_e(r["label"])}</td>'
            f"<td>{_e(note.get('label', ''))}</td><td>{verdict}</td><td>{_num(r['frequency'])}</td>"
            f"<td>{_e(types)}</td><td>{_e(', '.join(r['top_genes']))}</td><td>{_e('; '.join(r['top_terms']))}</td></tr>"
        )
    head = "".join(
        f"<th>{h}</th>"
        for h in ("id", "automatic label", "expert label", "interpretable", "frequency", "cell types", "genes", "terms")
    )
    return f'<table id="catalogue"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _faithfulness(f: dict[str, Any] | None) -> str:
    """One line under the attributed genes: how far the concept falls when they, its DE or random genes go."""
    if f is None or f.get("fall_attributed") is None:
        return ""
    n = f.get("n_genes", 10)
    verdict = "faithful" if f["faithful"] else "not faithful"
    return (
        f'<p class="faithfulness"><b>{verdict}</b>: set to the baseline together, its top-{n} attributed genes '
        f"lower it {f['fall_attributed']:.0%}, its top-{n} DE genes {f['fall_de']:.0%}, {n} random genes "
        f"{f['fall_random']:.0%} ± {f['fall_random_sd']:.0%}</p>"
    )


def _token_genes(tokens: dict[str, Any] | None) -> str:
    """A token run's gene tokens column (empty for other runs)."""
    if tokens is None:
        return ""
    genes = tokens["genes"]
    if genes is None:
        body = '<p class="muted">not computed</p>'
    elif not genes:
        body = '<p class="muted">no gene token activates it</p>'
    else:
        body = (
            "<table class='token-genes'><tr><th>gene</th><th>token activation</th><th>cells with its token</th></tr>"
            + "".join(
                f"<tr><td>{_e(g['gene'])}</td><td>{_num(g['score'])}</td><td>{_num(g['n_cells'])}</td></tr>"
                for g in genes[:10]
            )
            + "</table>"
        )
    return f"<div><h4>Gene tokens ({_e(tokens['layer'])})</h4>{body}</div>"


def _card(doc: dict[str, Any], map_uri: str, note: dict[str, Any]) -> str:
    cid = doc["id"]
    comp = doc["composition"]
    comp_html = (
        "<table><tr><th>type</th><th>share</th><th>of activation</th><th>of cells</th></tr>"
        + "".join(
            f"<tr><td>{_e(r['cell_type'])}</td><td>{r.get('type_share', r['share']):.0%}</td><td>{r['share']:.1%}</td>"
            f"<td class='muted'>{r['background']:.1%}</td></tr>"
            for r in comp[:6]
        )
        + "</table>"
        if comp
        else '<p class="muted">not computed</p>'
    )
    attr = doc["attribution"]
    tokens = doc.get("tokens")
    attr_title = "Attributed genes" if tokens is None else "Attributed genes (counterfactual)"
    attr_html = (
        bars_svg([(g["gene"], g["score"]) for g in attr["positive"][:8] + attr["negative"][:4][::-1]])
        if attr
        else '<p class="muted">not computed</p>'
    ) + _faithfulness(doc.get("faithfulness"))
    de_html = (
        bars_svg([(g["gene"], g["score"]) for g in doc["de"][:8]])
        if doc["de"] is not None
        else ('<p class="muted">not computed</p>')
    )
    enr = doc["enrichment"]
    if enr is None:
        enr_html = '<p class="muted">not computed</p>'
    else:
        kept = [r for r in enr if r["is_term"]][:6]
        enr_html = (
            "<table><tr><th>term</th><th>id</th><th>ranking</th><th>sign</th><th>adj. p</th></tr>"
            + "".join(
                f"<tr><td>{_e(r['term'])}</td><td>{_e(r['term_id'])}</td><td>{_e(r['ranking'])}</td>"
                f"<td>{_e(r['sign'])}</td><td>{_num(r['padj'])}</td></tr>"
                for r in kept
            )
            + "</table>"
            if kept
            else '<p class="muted">no term</p>'
        )

    def neighbours(rows: list[dict[str, Any]] | None) -> str:
        if rows is None:
            return '<span class="muted">not computed</span>'
        return ", ".join(f'<a href="#c{n["concept"]}">#{n["concept"]}</a> ({n["score"]:.2f})' for n in rows[:5])

    expert = ""
    if note:
        verdict = {True: "interpretable", False: "not interpretable"}.get(note.get("interpretable"), "not judged")
        expert = (
            f"<dt>expert label</dt><dd>{_e(note.get('label'))}</dd><dt>verdict</dt><dd>{verdict}"
            f" (confidence {_e(note.get('confidence') or '–')})</dd><dt>note</dt><dd>{_e(note.get('note'))}</dd>"
        )
    row = doc["row"]
    types = ", ".join(f"{t['cell_type']} ({t['share']:.0%})" for t in doc["top_cell_types"] if t["share"] is not None)
    head = f"{_num(row.get('frequency'))} of cells" + (f"; {_e(types)}" if types else "")
    # closed by default; the catalogue's #c<id> link targets the first element inside, so browsers open the card
    return f"""<details class="card"><summary>Concept {cid}: {_e(doc["label"])} <span class="muted">({head})</span>
</summary><span id="c{cid}"></span>
<div class="row"><div><img class="map" alt="map of concept {cid}" src="{map_uri}"></div>
<div><h4>Activation histogram</h4>{histogram_svg(doc["histogram"])}
<dl><dt>frequency</dt><dd>{_num(row.get("frequency"))}</dd>
<dt>active cells</dt><dd>{doc["n_active"]}</dd>{expert}</dl></div>
<div><h4>Cell types (share: mean activation per cell, over types)</h4>{comp_html}</div></div>
<div class="row">{_token_genes(tokens)}<div><h4>{attr_title}</h4>{attr_html}</div><div><h4>DE genes</h4>{de_html}</div>
<div><h4>Terms (enriched in the attribution ranking, kept by elim)</h4>{enr_html}</div></div>
<p><b>Decoder neighbours:</b> {neighbours(doc["cosine"])}<br><b>Co-activation:</b> {neighbours(doc["coactivation"])}</p>
</details>"""


def render_report(
    data: ConceptResults,
    notes: dict[str, dict[str, Any]],
    concepts: list[int],
    *,
    name: str | None = None,
) -> str:
    """The report's HTML text for ``concepts`` of ``data`` with the expert's ``notes``.

    First screen: what was run, the key figures beside their chance levels and the catalogue; then
    the evaluation, the concept cards (closed; open one by its summary or a catalogue link) and,
    folded away, every parameter. ``name`` (default: the folder's name) titles it.
    """
    name = data.folder.name if name is None else name
    raster = MapRaster(data.umap, size=MAP_SIZE)
    rows = _pages.catalogue(data)
    cards = []
    for cid in progress(concepts, desc="report", unit="concept", disable=len(concepts) < 50):
        doc = _pages.concept(data, cid)
        cards.append(_card(doc, raster.data_uri(*data.concept_values(cid)), notes.get(str(cid), {})))
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>scconcepts report: {_e(name)}</title><style>{STYLE}</style></head><body>
<h1>scconcepts report: {_e(name)}</h1>
<section id="summary">{what_was_run(data)}<p class="muted">Written {stamp}.</p>{metrics_table(data)}
{parameters(data)}</section>
<h2>Catalogue</h2>{_catalogue(rows, notes)}
{evaluation_section(data.folder)}
{steering_section(data.folder)}
<h2>Concepts</h2><p class="muted">{len(cards)} cards, closed: click a concept to open it.</p>{"".join(cards)}
</body></html>"""


def write_report(
    folder: str | Path,
    *,
    max_concepts: int | None = None,
    staging: Path | None = None,
    new_run: bool = False,
) -> Path:
    """Write ``report.html`` into a results folder and return its path.

    The file is self-contained (plots inline as PNG data URIs and SVG, no script, no external
    resource) and opens in a browser without a server.

    Parameters
    ----------
    folder
        Results folder written by ``scconcepts run``.
    max_concepts
        Give cards to the first ``max_concepts`` concepts only (all by default; the catalogue lists all).
    staging
        The staging folder of an open commit of ``folder``: the report shows the folder as the
        commit will leave it (staged entries over the folder's) and is written there, so that it is
        committed together with them. ``None`` writes it into ``folder`` in a commit of its own.
    new_run
        The staged results are a new run's: the folder's annotations and evaluation, which belong
        to the concepts being replaced, are not shown.

    """
    from scconcepts.app._annotations import AnnotationsError
    from scconcepts.results import add_to_results, future_state

    folder = Path(folder).resolve()
    with ExitStack() as stack:
        if staging is None:
            source = folder
        elif new_run:  # the staging folder holds the whole new run
            source = staging
        else:  # the folder as the commit will leave it
            source = stack.enter_context(future_state(folder, staging))
        data = ConceptResults(source)
        notes: dict[str, dict[str, Any]] = {}
        if not new_run:
            try:
                notes = AnnotationStore(folder).all()
            except AnnotationsError as error:
                logger.warning("the report shows no annotation: %s", error)
        n = data.n_concepts if max_concepts is None else min(max_concepts, data.n_concepts)
        text = render_report(data, notes, list(range(n)), name=folder.name)
    if staging is not None:
        (staging / REPORT_HTML).write_text(text, encoding="utf-8")
        return folder / REPORT_HTML
    add_to_results(folder, REPORT_HTML, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    path = folder / REPORT_HTML
    logger.info("report written to %s (%.1f MB)", path, path.stat().st_size / 1e6)
    return path


def refresh_report(folder: str | Path, staging: Path) -> None:
    """Rewrite ``report.html`` of ``folder`` (if it has one) into ``staging``, committed with the staged results."""
    if (Path(folder) / REPORT_HTML).is_file():
        write_report(folder, staging=staging)
