"""The explorer in headless Chromium: search beyond the shown genes and terms, a cell-type page under a
non-default labels key, and the gene page's expression map; screenshots of the main pages are kept.

Screenshots go to ``$SCCONCEPTS_SCREENSHOTS`` (default ``tests/output/screenshots/`` in the checkout).
"""

import os
from pathlib import Path

import pytest
from benchmarks._synthetic import make_synthetic_results

from scconcepts.app import start_server

from ._browser import canvas_pixels, coloured_mask, launch

playwright_api = pytest.importorskip("playwright.sync_api")

NK = "CD56+ NK"
TYPES = ["CD4+ T", "CD19+ B", NK, "CD14+ Monocyte", "Dendritic"]
LONG_LABEL = "CD56+ NK: a deliberately long automatic label that the gene page must show in full, never cut"
SHOTS = Path(os.environ.get("SCCONCEPTS_SCREENSHOTS", Path(__file__).resolve().parents[1] / "output" / "screenshots"))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = make_synthetic_results(
        tmp_path_factory.mktemp("pages") / "results", labels={7: LONG_LABEL}, labels_key="bulk_labels", type_names=TYPES
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
    context = browser.new_context(viewport={"width": 1300, "height": 900}, bypass_csp=True)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, errors


def shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def shown_ids(page):
    return [int(i) for i in page.locator("#catalogue tbody tr").evaluate_all("rows => rows.map(r => r.dataset.id)")]


def test_search_finds_a_concept_by_its_fourth_ranked_gene_and_by_a_hidden_term(page, server):
    page.goto(server.url)
    page.wait_for_selector("#catalogue tbody tr")
    concept = page.evaluate("fetch('/api/concepts/2').then(r => r.json())")
    fourth = concept["attribution"]["positive"][3]["gene"]
    row = page.locator("#catalogue tbody tr[data-id='2']")
    assert fourth not in row.inner_text()  # the table shows three genes only
    page.fill("#search", fourth)
    page.wait_for_function("document.querySelector('#count').textContent.startsWith('40 of') === false")
    assert 2 in shown_ids(page)
    assert f"{fourth} (gene #4)" in page.locator("#catalogue tbody tr[data-id='2'] .match").inner_text()
    shot(page, "catalogue-search-gene")
    page.fill("#search", "interferon-beta")  # concept 7's third term: the table shows two
    page.wait_for_function("document.querySelectorAll('#catalogue tbody tr').length === 4")
    assert shown_ids(page) == [7, 17, 27, 37]
    assert "response to interferon-beta 7" in page.locator("#catalogue tbody tr[data-id='7'] .match").inner_text()
    page.fill("#search", "parent process 7")  # a term elim removed is not one of the concept's terms
    page.wait_for_function("document.querySelectorAll('#catalogue tbody tr').length === 0")
    page.fill("#search", "no such thing anywhere")
    page.wait_for_function("document.querySelectorAll('#catalogue tbody tr').length === 0")


def test_cell_type_page_under_a_non_default_labels_key(page, server):
    page.goto(f"{server.url}#/cell-types")
    page.wait_for_selector(f"text={NK}")
    page.click(f"text={NK}")
    page.wait_for_selector("#cell-type-concepts tbody tr")
    assert page.locator("#cell-type-name").inner_text() == NK
    first = page.locator("#cell-type-concepts tbody tr").first.inner_text()
    assert int(first.split()[0].lstrip("#")) % 5 == 2  # concepts 2, 7, 12... fire in type 2 (NK)
    shot(page, "cell-type-nk")


def test_gene_page_maps_expression_and_shows_full_labels(page, server):
    page.goto(f"{server.url}#/gene/G7")
    page.wait_for_function("document.body.dataset.painted === 'gene:G7'", timeout=20_000)
    pixels = canvas_pixels(page)
    coloured = coloured_mask(pixels)
    assert coloured.sum() > 200, "no expressing cell coloured"
    # G7 is expressed mostly in type 7 % 5 = 2: the coloured cells sit in one blob, not all over the map
    ys, xs = coloured.nonzero()
    assert xs.std() < 0.2 * pixels.shape[1] and ys.std() < 0.2 * pixels.shape[0]
    assert "expressed in" in page.locator("#gene-expressing").inner_text()
    name = page.locator("#drives-bars .bar-name").first
    assert name.inner_text() == f"#7 {LONG_LABEL}"
    assert name.evaluate("n => n.scrollWidth <= n.clientWidth + 1"), "the label is cut off"
    shot(page, "gene-G7")
    page.goto(f"{server.url}#/concept/7")
    page.wait_for_function("document.body.dataset.painted === 'concept:7'", timeout=20_000)
    shot(page, "concept-7")
    page.goto(server.url)
    page.wait_for_selector("#catalogue tbody tr")
    shot(page, "catalogue")
