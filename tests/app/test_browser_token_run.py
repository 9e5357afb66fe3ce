"""A token run's concept page in headless Chromium: the gene tokens panel beside the attributed genes, the map's
per-cell choice (max or mean over the cell's tokens), gene names shown as text."""

import anndata as ad
import numpy as np
import pytest
from tests._token_run import copy_token_run

from scconcepts.app import start_server

from ._browser import canvas_pixels, coloured_mask, launch
from .conftest import XSS_LABEL
from .test_browser_pages import shot

playwright_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def folder_and_concept(token_run, tmp_path_factory):
    adata = ad.read_h5ad(token_run / "results.h5ad", backed="r")
    per_gene = np.nan_to_num(np.asarray(adata.varm["concepts_token_genes"]), nan=-np.inf)
    cid = int(np.argmax(per_gene.max(axis=0)))
    top = str(adata.var_names[int(np.argmax(per_gene[:, cid]))])
    adata.file.close()
    folder = copy_token_run(token_run, tmp_path_factory.mktemp("tokens") / "results", rename={top: XSS_LABEL})
    return folder, cid


@pytest.mark.slow
def test_token_run_concept_page_shows_gene_tokens(folder_and_concept):
    folder, cid = folder_and_concept
    running = start_server(folder)
    try:
        with playwright_api.sync_playwright() as p:
            browser = launch(p)
            # without the CSP: an injected script would run, and wait_for_function may evaluate its predicate
            page = browser.new_context(viewport={"width": 1300, "height": 900}, bypass_csp=True).new_page()
            errors = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(f"{running.url}#/concept/{cid}")
            page.wait_for_function(f"document.body.dataset.painted === 'concept:{cid}'", timeout=30_000)
            assert "gene tokens carry the concept" in page.locator("#token-genes-note").inner_text()
            first = page.locator("#token-genes-table tbody tr").first.locator("td")
            assert first.nth(0).inner_text() == XSS_LABEL  # the name as text, never as markup
            assert int(first.nth(2).inner_text()) > 0
            assert "Attributed genes (counterfactual)" in page.locator("#token-genes").inner_text()
            assert page.evaluate("window.__xss") is None
            before = coloured_mask(canvas_pixels(page)).sum()
            page.select_option("#token-view", "mean")
            page.wait_for_function("document.querySelector('canvas.scatter').dataset.view === 'mean'")
            assert coloured_mask(canvas_pixels(page)).sum() > 0 and before > 0
            shot(page, "token-run-concept")
            page.locator("#token-genes-table tbody tr").first.locator("a").click()  # the gene's own page
            page.wait_for_selector("#gene-token-bars .bar-row")
            assert page.locator("#gene-name").inner_text() == XSS_LABEL
            assert page.locator("#gene-token-bars .bar-name").first.inner_text().startswith(f"#{cid}")
            assert page.evaluate("window.__xss") is None
            shot(page, "token-run-gene")
            browser.close()
            assert not errors, errors
    finally:
        running.stop()
