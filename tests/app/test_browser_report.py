"""The report in headless Chromium: the page is short (cards closed) and a catalogue link opens its card."""

import pytest
from benchmarks._synthetic import make_synthetic_results

from scconcepts.report import write_report

from ._browser import launch

playwright_api = pytest.importorskip("playwright.sync_api")


def test_report_page_is_short_and_a_catalogue_link_opens_its_card(tmp_path):
    path = write_report(make_synthetic_results(tmp_path / "results"))
    with playwright_api.sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        page.goto(path.as_uri())
        height = page.evaluate("document.documentElement.scrollHeight")
        assert height < 6000, f"report is {height} px tall"  # was ~32,000 px with 40 open cards of 200-px maps
        page.click("#catalogue a[href='#c7']")
        page.wait_for_function("document.getElementById('c7').parentElement.open === true")
        assert page.evaluate("document.querySelectorAll('details.card[open]').length") == 1
        browser.close()
