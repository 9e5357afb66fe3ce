"""The top-cell purity figure never stands alone: the selectivity table and its chance level stand beside it."""

import json
import re

import pytest
from benchmarks._synthetic import make_synthetic_results

from scconcepts.report import write_report

SAE_ROW = {"method": "sae", "n_components": 40, "n_seeds": 3, "r2": 0.95, "purity": 0.6, "pure_share": 0.4,
           "pure_share_chance": 0.05}  # fmt: skip
SELECTIVITY = {
    "table": [
        {"label": "B", "n_cells": 500, "sae": 0.79, "sae_chance": 0.53, "run": 0.81, "run_chance": 0.54,
         "neurons": 0.94, "pca": 0.97, "ica": 0.96, "nmf": 0.9, "chance": 0.53},
        {"label": "<NK>", "n_cells": 20, "sae": 0.85, "sae_chance": 0.57, "run": 0.86, "run_chance": 0.56,
         "neurons": 0.92, "pca": 0.98, "ica": 0.88, "nmf": 0.91, "chance": 0.57},
    ],
    "mean": {"sae": 0.82, "sae_chance": 0.55, "run": 0.835, "run_chance": 0.55, "neurons": 0.93, "pca": 0.975,
             "ica": 0.92, "nmf": 0.905, "chance": 0.55},
    "concepts": [{"concept": 0, "top_label": "<NK>", "share": 0.7, "mass_share": 0.2, "cell_share": 0.04,
                  "lift": 5.0, "auroc": 0.86}],
}  # fmt: skip


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return make_synthetic_results(tmp_path_factory.mktemp("selectivity") / "results")


def _report(folder, evaluation):
    (folder / "evaluation.json").write_text(json.dumps(evaluation))
    html = write_report(folder).read_text(encoding="utf-8")
    metrics = re.search(r'<table id="key-metrics".*?</table>', html, re.S).group(0)
    section = re.search(r'<h2 id="evaluation">.*?<h2>Concepts', html, re.S).group(0)
    return metrics, section


def test_summary_shows_selectivity_beside_its_chance_right_after_the_top_cell_figures(folder):
    metrics, section = _report(folder, {"table": [SAE_ROW], "selectivity": SELECTIVITY})
    row = re.search(r"<tr><td>best concept&#x27;s AUROC per cell type, mean over 2.*?</tr>", metrics).group(0)
    assert "<td>0.82</td><td>0.55</td>" in row and "best neuron 0.930, best PC 0.975" in row
    assert "this run&#x27;s concepts</td><td>0.835</td><td>0.55</td>" in metrics
    assert metrics.index("≥80% one cell type") < metrics.index("AUROC per cell type")
    # the evaluation section: the selectivity table right after the pure-share bars (same row), escaped
    figures = section.split("Share of components ≥80% one cell type")[1].split('<details id="concept-shares">')[0]
    assert '<table id="selectivity"' in figures and "&lt;NK&gt;" in figures and "<NK>" not in section
    assert "chance 0.530" in figures and "<th>0.820<br>" in figures
    assert "<td>&lt;NK&gt;</td><td>0.70</td><td>0.20</td><td>0.04</td><td>5.00</td>" in section


def test_an_evaluation_without_selectivity_says_so_beside_the_top_cell_figures(folder):
    metrics, section = _report(folder, {"table": [SAE_ROW]})
    assert "per cell type (selectivity)</td><td>not measured</td>" in metrics
    figures = section.split("Share of components ≥80% one cell type")[1]
    assert "not measured: rerun <code>scconcepts evaluate</code>" in figures
