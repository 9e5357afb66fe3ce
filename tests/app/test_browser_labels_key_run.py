"""``run --labels-key bulk_labels`` on pbmc68k: the key reaches concepts.csv, the labels, the report and the
explorer's cell-type page (in Chromium)."""

import anndata as ad
import pandas as pd
import pytest

from scconcepts.app import start_server
from scconcepts.cli import main

from ._browser import launch
from .test_browser_pages import shot

NK = "CD56+ NK"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("bulk") / "results"
    # one SAE: the labels key is under test, not the default regime
    args = ["run", "--dataset", "pbmc68k", "--model", "scvi", "--max-epochs", "15", "--epochs", "100", "--seeds", "1"]
    assert main([*args, "--labels-key", "bulk_labels", "--out", str(out)]) == 0
    return out


@pytest.mark.slow
def test_labels_key_reaches_table_labels_and_report(folder):
    bulk = set(ad.read_h5ad(folder / "results.h5ad", backed="r").obs["bulk_labels"].astype(str))
    table = pd.read_csv(folder / "concepts.csv")
    alive = table[~table["dead"]]
    assert (alive["cell_types"].fillna("").astype(str) != "").all(), "empty cell_types column"
    for value in alive["cell_types"].astype(str).str.removeprefix("mixed (").str.removesuffix(")"):
        # bulk labels such as 'CD56+ NK' (some hold '/' themselves), not the default cell_type column
        assert value in bulk or any(value.startswith(f"{name}/") for name in bulk), value
    # a label starts with the concept's bulk cell type(s) when they hold its activation, and with none when it is
    # mixed: whichever concepts a training makes
    for label, types in zip(alive["label"].astype(str), alive["cell_types"].astype(str), strict=True):
        if types.startswith("mixed"):
            assert not any(label.startswith(f"{name}:") or label.startswith(f"{name}/") for name in bulk), label
        else:
            assert label.startswith(f"{types}:"), (label, types)
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert "Cell types: not computed" not in html and "obs[&#x27;bulk_labels&#x27;]" in html


@pytest.mark.slow
def test_explorer_cell_type_page_for_bulk_labels(folder):
    playwright_api = pytest.importorskip("playwright.sync_api")
    running = start_server(folder)
    try:
        with playwright_api.sync_playwright() as p:
            browser = launch(p)
            page = browser.new_page(viewport={"width": 1300, "height": 900})
            page.goto(f"{running.url}#/cell-type/{NK.replace('+', '%2B').replace(' ', '%20')}")
            page.wait_for_selector("#cell-type-concepts tbody tr")
            assert page.locator("#cell-type-name").inner_text() == NK
            assert page.locator("#cell-type-concepts tbody tr").count() > 0
            shot(page, "pbmc68k-bulk-labels-cell-type-nk")
            browser.close()
    finally:
        running.stop()
