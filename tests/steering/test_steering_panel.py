"""The explorer's "what if" panel: the endpoint on a real scVI run, and the panel in headless Chromium."""

import numpy as np
import pandas as pd
import pytest
from benchmarks._synthetic import make_synthetic_results
from fastapi.testclient import TestClient

from scconcepts.app import create_app, start_server

pytestmark = pytest.mark.slow


def _busy(folder):
    table = pd.read_csv(folder / "concepts.csv", index_col=0)
    return int(table["frequency"].idxmax())


def test_endpoint_steers_and_refuses_bad_requests(scvi_run, tmp_path):
    folder, _ = scvi_run
    client = TestClient(create_app(folder))
    cid = _busy(folder)
    doc = client.get(f"/api/concepts/{cid}/steer?value=off").json()
    assert doc["concept"] == cid and doc["value"] == "off" and doc["n_cells"] > 0
    assert len(doc["moves"]["original"]) == len(doc["moves"]["steered"]) == min(doc["n_cells"], 400)
    moved = np.linalg.norm(np.asarray(doc["moves"]["steered"]) - np.asarray(doc["moves"]["original"]), axis=1)
    assert moved.max() > 0
    assert all(g["lfc"] < 0 for g in doc["down"]) and all(g["lfc"] > 0 for g in doc["up"])
    assert client.get(f"/api/concepts/{cid}/steer?value=x9").status_code == 422
    assert client.get("/api/concepts/999/steer").status_code == 404
    bare = TestClient(create_app(make_synthetic_results(tmp_path / "synthetic")))  # no saved model
    response = bare.get("/api/concepts/0/steer")
    assert response.status_code == 409 and "no saved model" in response.json()["detail"]


def test_toward_endpoint(scvi_run):
    folder, _ = scvi_run
    client = TestClient(create_app(folder))
    query = "cells=CD19%2B%20B&toward=CD14%2B%20Monocyte"
    doc = client.get(f"/api/steer/toward?{query}").json()
    assert doc["toward"] == "CD14+ Monocyte" and doc["n_concepts"] == len(doc["concepts"]) >= 1
    assert doc["controls"][0]["control"] == "steered" and len(doc["controls"]) == 5
    assert len(doc["genes"]) == 10
    response = client.get("/api/steer/toward?cells=CD19%2B%20B&toward=CD19%2B%20B")
    assert response.status_code == 409 and "same cells" in response.json()["detail"]


def test_what_if_panel_in_chromium(scvi_run):
    playwright_api = pytest.importorskip("playwright.sync_api")
    from ..app._browser import launch

    folder, _ = scvi_run
    cid = _busy(folder)
    running = start_server(folder)
    try:
        with playwright_api.sync_playwright() as p:
            browser = launch(p)
            # bypass_csp only lets Playwright evaluate its own wait expressions (as in tests/app/test_browser.py)
            context = browser.new_context(viewport={"width": 1300, "height": 900}, bypass_csp=True)
            page = context.new_page()
            errors = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(f"{running.url}#/concept/{cid}")
            page.wait_for_selector("#steer-off", timeout=30_000)
            page.click("#steer-off")
            page.wait_for_function(f"document.body.dataset.steered === '{cid}:off'", timeout=60_000)
            assert page.locator("#steer-error").count() == 0
            assert "off in" in page.locator("#steer-summary").inner_text()
            n_moved = page.locator("#steer-map circle.steered").count()
            assert n_moved > 0
            lists = page.locator("ol.steer-genes li").count() + page.get_by_text("no gene beyond the null").count()
            assert lists > 0
            page.click("#steer-x2")
            page.wait_for_function(f"document.body.dataset.steered === '{cid}:x2'", timeout=60_000)
            assert "x2 in" in page.locator("#steer-summary").inner_text()
            assert page.locator("#steer-landing tr").count() > 1
            page.fill("#toward-cells", "CD19+ B")
            page.fill("#toward-target", "CD14+ Monocyte")
            page.click("#toward-go")
            page.wait_for_function("document.body.dataset.toward === 'CD19+ B->CD14+ Monocyte'", timeout=90_000)
            assert page.locator("#toward-error").count() == 0
            assert page.locator("#toward-controls tr").count() == 6  # header, steered and four controls
            browser.close()
            assert not errors, errors
    finally:
        running.stop()
