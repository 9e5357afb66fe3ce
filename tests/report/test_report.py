import base64
import io
import json
import re

import numpy as np
import pytest
from benchmarks._synthetic import make_synthetic_results
from PIL import Image

from scconcepts.app import Annotation, AnnotationStore
from scconcepts.cli import main
from scconcepts.report import REPORT_HTML, write_report
from scconcepts.report._raster import MapRaster

XSS = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = make_synthetic_results(tmp_path_factory.mktemp("report") / "results", labels={1: XSS})
    AnnotationStore(folder).save(3, Annotation(label=XSS + " naive B", note="a & b", confidence=5, interpretable=True))
    path = write_report(folder)
    return folder, path, path.read_text(encoding="utf-8")


def test_report_is_written_and_recorded(report):
    folder, path, _ = report
    assert path == folder / REPORT_HTML
    assert REPORT_HTML in json.loads((folder / "scconcepts.json").read_text())["files"]


def test_report_has_catalogue_and_one_card_per_concept(report):
    _, _, html = report
    assert html.count('<details class="card">') == 40
    rows = re.search(r'<table id="catalogue">.*?</table>', html, re.S).group(0)
    assert rows.count("<tr>") == 41  # header + 40 concepts
    card = re.search(r'<details class="card"><summary>Concept 7:.*?</details>', html, re.S).group(0)
    # planted: G7 drives concept 7, G9 is its DE gene, TERM:00007 passes elim, concept 6 is its decoder twin
    assert re.search(r"<text[^>]*>G7</text>", card)
    assert card.index(">G7<") < card.index(">G8<")  # strongest positive first, the repressor last
    assert ">G9<" in card and "TERM:00007" in card and "TERM:90007" not in card
    assert '<a href="#c6">#6</a> (1.00)' in card
    assert "type C" in card


def test_report_is_self_contained_and_escaped(report):
    _, _, html = report
    assert "<script" not in html
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in html
    assert "a &amp; b" in html
    assert not re.search(r'(src|href)="(?!data:|#)', html), "a resource outside the file"
    uris = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(uris) == 40
    img = Image.open(io.BytesIO(base64.b64decode(uris[0])))
    assert img.size == (360, 360)


def test_map_raster_colours_the_active_cluster():
    rng = np.random.default_rng(0)
    umap = np.concatenate([rng.normal(-5, 0.5, (500, 2)), rng.normal(5, 0.5, (500, 2))])
    raster = MapRaster(umap, size=100)
    rgba = np.asarray(Image.open(io.BytesIO(raster.png(np.arange(500, 1000), np.ones(500)))))[..., :3].astype(int)
    coloured = (rgba.max(axis=2) - rgba.min(axis=2)) > 60
    ys, xs = np.nonzero(coloured)
    assert coloured.sum() > 50
    assert xs.mean() > 60 and ys.mean() < 40  # upper right: x = +5, y = +5 (y grows upwards)


def test_bare_folder_report_says_not_computed(tmp_path):
    folder = make_synthetic_results(
        tmp_path / "r",
        n_cells=300,
        n_concepts=6,
        n_types=3,
        with_attribution=False,
        with_enrichment=False,
        with_sae=False,
        with_cell_type=False,
    )
    html = write_report(folder).read_text()
    assert html.count('<details class="card">') == 6
    assert html.count("not computed") >= 6 * 4


def test_report_cli(tmp_path, capsys):
    folder = make_synthetic_results(tmp_path / "r", n_cells=300, n_concepts=6, n_types=3)
    assert main(["report", str(folder), "--max-concepts", "2"]) == 0
    html = (folder / REPORT_HTML).read_text()
    assert html.count('<details class="card">') == 2 and html.count('<a href="#c') >= 6
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_report_opens_without_a_server(report):
    sync_api = pytest.importorskip("playwright.sync_api")
    _, path, _ = report
    args = [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ]
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=args)
        page = browser.new_page()
        requests = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(path.as_uri())
        page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")  # cards are closed
        page.wait_for_function("[...document.images].every(i => i.complete)")
        loaded = page.evaluate("[...document.images].every(i => i.complete && i.naturalWidth === 360)")
        xss = page.evaluate("window.__xss")
        browser.close()
    assert loaded
    assert xss is None
    assert all(u.startswith(("file:", "data:")) for u in requests)


def test_report_has_the_evaluation_section_when_evaluated(tmp_path):
    folder = make_synthetic_results(tmp_path / "results")
    assert 'id="evaluation"' not in write_report(folder).read_text(encoding="utf-8")
    evaluation = {
        "table": [
            {"method": "sae", "n_components": 40, "n_seeds": 3, "r2": 0.963, "r2_std": 0.002, "purity": 0.461,
             "purity_std": 0.01, "pure_share": 0.083, "pure_share_std": 0.02, "grounding": None},
            {"method": "ica", "n_components": 10, "n_seeds": 3, "r2": 1.0, "r2_std": 0.0, "purity": 0.528,
             "purity_std": 0.0, "pure_share": 0.3, "pure_share_std": 0.0, "grounding": None},
        ],
        "stability": {"sae": {"matched_cosine": 0.691, "matched_cosine_std": 0.05, "reproduced": 0.0,
                              "reproduced_std": 0.0}},
        "cross_dataset": {"name": XSS, "n_cells": 559, "methods": {"sae": {
            "matched_cosine": 0.512, "matched_cosine_std": 0.03, "reproduced": 0.1, "reproduced_std": 0.0}}},
        "sweep": [{"k": 5, "expansion": 8, "n_concepts": 80, "r2": 0.983, "l0": 5.0, "dead_fraction": 0.0}],
        "params": {"seeds": [0, 1, 2], "k": 5, "expansion": 4, "n_cells_heldout": 140},
    }  # fmt: skip
    (folder / "evaluation.json").write_text(json.dumps(evaluation))
    html = write_report(folder).read_text(encoding="utf-8")
    section = re.search(r'<h2 id="evaluation">.*?<h2>Concepts', html, re.S).group(0)
    assert "<td>sae</td><td>40</td><td>3</td><td>0.963 ± 0.002</td>" in section
    assert "0.528 ± 0.000" in section and "0.691 ± 0.050" in section and "0.512 ± 0.030" in section
    assert "grounding</th>" not in section  # a metric nobody measured gets no column
    assert "<td>0.983</td>" in section  # the sweep
    assert "<script" not in html and "&lt;script&gt;" in section
    assert section.count("<svg") == 2  # R^2 and pure-share bars


def test_unreadable_evaluation_is_said_not_fatal(tmp_path, capsys):
    folder = make_synthetic_results(tmp_path / "results")
    (folder / "evaluation.json").write_text('{"table": [{"method": "sae", "r2": "<b>x</b>"}')  # cut short
    html = write_report(folder).read_text(encoding="utf-8")
    assert "evaluation.json is not readable" in html
    (folder / "evaluation.json").write_text('{"table": 7}')  # valid JSON, wrong shape
    assert "evaluation.json is not readable" in write_report(folder).read_text(encoding="utf-8")
    assert main(["info", str(folder)]) == 0
    assert "evaluation.json is not readable" in capsys.readouterr().out
