"""The explorer in headless Chromium: catalogue, concept pages drawn with WebGL, annotation, escaping."""

import numpy as np
import pytest
from benchmarks._synthetic import make_synthetic_results

from scconcepts.app import start_server

from ._browser import canvas_pixels, coloured_mask, drawn_mask, launch
from .conftest import XSS_LABEL

playwright_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = make_synthetic_results(
        tmp_path_factory.mktemp("browser") / "results",
        labels={1: XSS_LABEL, 2: "B cell receptor signalling"},
        type_names=["type A", "type B", "CD4+/CD25 T Reg", "type D", "type E"],
        gene_names={9: "HLA-A/B"},
    )
    running = start_server(folder)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        chromium = launch(p)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    # bypass_csp only lets Playwright evaluate its own wait expressions; escaping is tested without the CSP's help
    context = browser.new_context(viewport={"width": 1300, "height": 900}, bypass_csp=True)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, errors


def open_feature(page, url, key):
    page.goto(url)
    page.wait_for_function(f"document.body.dataset.painted === '{key}'", timeout=20_000)


def test_catalogue_sort_filter_search(page, server):
    page.goto(server.url)
    page.wait_for_selector("#catalogue tbody tr")
    assert page.locator("#catalogue tbody tr").count() == 40
    page.fill("#search", "receptor signal")
    page.wait_for_function("document.querySelectorAll('#catalogue tbody tr').length === 1")
    assert page.locator("#catalogue tbody tr").first.get_attribute("data-id") == "2"
    page.fill("#search", "")
    page.click("th[data-key=frequency]")  # most frequent first
    ids = [int(i) for i in page.locator("#catalogue tbody tr").evaluate_all("rows => rows.map(r => r.dataset.id)")]
    freqs = page.evaluate("fetch('/api/concepts').then(r => r.json())")
    by_id = {r["id"]: r["frequency"] for r in freqs}
    assert [by_id[i] for i in ids] == sorted(by_id.values(), reverse=True)
    page.select_option("#filter", "annotated")
    page.wait_for_selector("#count")


def test_concept_page_draws_and_switches(page, server):
    page.goto(server.url)
    page.wait_for_selector("#catalogue tbody tr")
    page.click("#catalogue tbody tr[data-id='3'] a")
    page.wait_for_function("document.body.dataset.painted === 'concept:3'", timeout=20_000)
    first = canvas_pixels(page)
    assert drawn_mask(first).mean() > 0.02, "the scatter drew (almost) nothing"
    assert coloured_mask(first).sum() > 200, "no cell coloured by activation"
    assert page.locator("#attribution .bar-row").first.inner_text().startswith("G3")
    assert page.locator("#cosine li").first.inner_text().startswith("#2")
    assert page.locator("#faithfulness .verdict").inner_text().startswith("faithful")  # planted: 60% vs DE 30%
    assert "60.0%" in page.locator("#faithfulness table").inner_text()
    page.click("#enrichment-toggle")
    assert "TERM:90003" in page.locator("#enrichment").inner_text()
    # switch to the next concept: it fires in another cell type, i.e. another blob of the map
    page.click("text=next →")
    page.wait_for_function("document.body.dataset.painted === 'concept:4'", timeout=20_000)
    second = canvas_pixels(page)
    assert coloured_mask(second).sum() > 200
    centre = [np.argwhere(coloured_mask(img)).mean(axis=0) for img in (first, second)]
    assert np.linalg.norm(centre[0] - centre[1]) > 50, "the coloured cells did not move to another cluster"
    assert "lower it less than its DE genes" in page.locator("#faithfulness .verdict").inner_text()  # planted: 10%
    assert page.locator("#page-title").get_attribute("data-id") == "4"


def test_neuron_page_draws(page, server):
    open_feature(page, server.url + "#/neuron/2", "neuron:2")
    pixels = canvas_pixels(page)
    assert coloured_mask(pixels).mean() > 0.02  # every cell carries a value
    assert "not computed" in page.locator("#attribution").inner_text()


def test_annotation_saved_reloaded_and_escaped(page, server):
    open_feature(page, server.url + "#/concept/1", "concept:1")
    # the automatic label holds markup: shown as text, never run
    assert page.locator(".auto-label").inner_text() == XSS_LABEL
    page.fill("#ann-label", "<b id='injected'>naive T</b><script>window.__xss=3</script>")
    page.fill("#ann-note", "CCR7, SELL high")
    page.select_option("#ann-confidence", "4")
    page.select_option("#ann-interpretable", "yes")
    page.click("#ann-save")
    page.wait_for_selector("#ann-status.ok")
    page.reload()
    page.wait_for_function("document.body.dataset.painted === 'concept:1'", timeout=20_000)
    assert page.input_value("#ann-label") == "<b id='injected'>naive T</b><script>window.__xss=3</script>"
    assert page.input_value("#ann-note") == "CCR7, SELL high"
    assert page.input_value("#ann-confidence") == "4"
    assert page.input_value("#ann-interpretable") == "yes"
    page.goto(server.url + "#/")
    page.wait_for_selector("#catalogue tbody tr[data-id='1']")
    row = page.locator("#catalogue tbody tr[data-id='1']")
    assert row.locator(".expert-label").inner_text() == "<b id='injected'>naive T</b><script>window.__xss=3</script>"
    assert XSS_LABEL in row.inner_text()
    assert page.locator("#injected").count() == 0
    assert page.locator("img[src=x]").count() == 0
    assert page.evaluate("window.__xss") is None


def test_two_tabs_keep_both_edits(browser, server):
    context = browser.new_context(bypass_csp=True)
    tabs = [context.new_page(), context.new_page()]
    for tab, cid in zip(tabs, (5, 6), strict=True):
        open_feature(tab, server.url + f"#/concept/{cid}", f"concept:{cid}")
    for tab, cid in zip(tabs, (5, 6), strict=True):
        tab.fill("#ann-label", f"label from tab {cid}")
        tab.click("#ann-save")
        tab.wait_for_selector("#ann-status.ok")
    saved = tabs[0].evaluate("fetch('/api/annotations').then(r => r.json())")
    assert saved["5"]["label"] == "label from tab 5" and saved["6"]["label"] == "label from tab 6"
    tabs[0].goto(server.url + "#/annotations")
    tabs[0].wait_for_selector("#agreement")
    assert "annotated" in tabs[0].locator("#agreement").inner_text()
    assert tabs[0].locator("#export-csv").get_attribute("href") == "/api/annotations.csv"
    context.close()


def test_gene_and_cell_type_pages(page, server):
    page.goto(server.url + "#/gene/G7")
    page.wait_for_selector("#drives .bar-row")
    assert page.locator("#drives .bar-row").first.inner_text().startswith("#7")
    page.goto(server.url + "#/cell-type/type%20B")
    page.wait_for_selector("#cell-type-concepts tbody tr")
    assert page.locator("#cell-type-name").inner_text() == "type B"


def test_names_with_slashes_open_from_their_links(page, server):
    page.goto(server.url + "#/cell-types")
    page.click("text=CD4+/CD25 T Reg")
    page.wait_for_selector("#cell-type-concepts tbody tr")
    assert page.locator("#cell-type-name").inner_text() == "CD4+/CD25 T Reg"
    assert page.evaluate("location.hash") == "#/cell-type/CD4%2B%2FCD25%20T%20Reg"
    page.goto(server.url + "#/genes")
    page.fill("#gene-search", "hla-a/")
    page.click("#gene-list >> text=HLA-A/B")
    page.wait_for_selector("#drives .bar-row")
    assert page.locator("#gene-name").inner_text() == "HLA-A/B"
    assert page.locator("#drives .bar-row").first.inner_text().startswith("#9")


def test_a_broken_annotations_file_is_shown_not_replaced(page, tmp_path):
    folder = make_synthetic_results(tmp_path / "results", n_cells=300, n_concepts=8, n_dims=4, k=2, n_genes=40)
    broken = '{"version": 1, "concepts": {"2": {"label": "hand edited"},}}'
    (folder / "annotations.json").write_text(broken)
    running = start_server(folder)
    try:
        page.goto(running.url)
        problem = page.wait_for_selector("#annotations-problem")
        assert "annotations.json" in problem.inner_text() and "line 1" in problem.inner_text()
        assert page.locator("#catalogue tbody tr").count() == 8  # the catalogue still works
        open_feature(page, running.url + "#/concept/2", "concept:2")
        page.fill("#ann-label", "would overwrite")
        page.click("#ann-save")
        page.wait_for_function("document.querySelector('#ann-status').textContent.includes('not saved: 409')")
        assert "annotations.json" in page.locator("#ann-status").inner_text()
    finally:
        running.stop()
    assert (folder / "annotations.json").read_text() == broken
