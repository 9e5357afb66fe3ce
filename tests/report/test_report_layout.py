"""The report reads at a glance: summary first, parameters folded, cards closed, maps readable, page short."""

import base64
import io
import re

import pytest
from benchmarks._synthetic import make_synthetic_results
from PIL import Image

from scconcepts.report import write_report


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = make_synthetic_results(tmp_path_factory.mktemp("layout") / "results", labels_key="bulk_labels")
    path = write_report(folder)
    return path, path.read_text(encoding="utf-8")


def test_summary_comes_first_with_chance_levels(report):
    _, html = report
    order = [html.index(mark) for mark in ('id="summary"', 'id="key-metrics"', 'id="catalogue"', 'class="card"')]
    assert order == sorted(order), "summary, key figures, catalogue, then the cards"
    metrics = re.search(r'<table id="key-metrics".*?</table>', html, re.S).group(0)
    assert re.search(r"held-out R² \(reconstruction\)</td><td>0\.9</td><td>0</td>", metrics)
    assert "obs[&#x27;bulk_labels&#x27;]" in html  # the labels key the run used
    # the planted falls: every fourth concept's attributed genes lower it less than its DE genes; all beat random
    assert "75% at least as far as top-10 DE · 100% beyond random (of 40 concepts)" in metrics
    assert "<b>not faithful</b>: set to the baseline together, its top-10 attributed genes lower it 10%" in html
    params = re.search(r'<details id="parameters">.*?</details>', html, re.S).group(0)
    assert "<dt>use_rep</dt>" in params and html.index("<dt>use_rep</dt>") > html.index('<details id="parameters">')


def test_cards_are_closed_and_maps_are_large(report):
    _, html = report
    assert html.count('<details class="card">') == 40 and '<details class="card" open' not in html
    uri = re.search(r'class="map" alt="map of concept 0" src="data:image/png;base64,([^"]+)"', html).group(1)
    assert Image.open(io.BytesIO(base64.b64decode(uri))).size == (360, 360)


def test_summary_takes_chance_levels_from_the_evaluation(tmp_path):
    import json

    folder = make_synthetic_results(tmp_path / "results")
    rows = [{"method": "sae", "pure_share": 0.4, "pure_share_chance": 0.05, "purity": 0.6},
            {"method": "random_directions", "purity": 0.3}]  # fmt: skip
    (folder / "evaluation.json").write_text(json.dumps({"table": rows}))
    metrics = re.search(r'<table id="key-metrics".*?</table>', write_report(folder).read_text(), re.S).group(0)
    assert "share of concepts ≥80% one cell type (evaluation)</td><td>0.4</td><td>0.05</td>" in metrics
    assert "top-cell purity (evaluation)</td><td>0.6</td><td>0.3</td>" in metrics
    assert "random_directions baseline" in metrics


def test_an_excess_over_random_has_chance_zero(tmp_path):
    import json

    folder = make_synthetic_results(tmp_path / "results")
    rows = [{"method": "sae", "grounding_excess": 0.12, "grounding_pvalue": 0.003}]
    (folder / "evaluation.json").write_text(json.dumps({"table": rows}))
    metrics = re.search(r'<table id="key-metrics".*?</table>', write_report(folder).read_text(), re.S).group(0)
    assert "random directions (evaluation)</td><td>0.12</td><td>0</td>" in metrics
    assert "p = 0.003" in metrics
