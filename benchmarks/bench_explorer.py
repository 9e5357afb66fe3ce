"""Explorer on 1M cells x 500 concepts: first paint of a concept page, concept switch, server memory.

Run: ``python -m benchmarks explorer`` (``SCCONCEPTS_BENCH_CELLS`` sets another number of cells).
Target: switching concept <= 1 s in headless Chromium (software WebGL) on 2 cores.
"""

from __future__ import annotations

import logging
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

logger = logging.getLogger("benchmarks.explorer")

N_CELLS = int(os.environ.get("SCCONCEPTS_BENCH_CELLS", "1000000"))
N_CONCEPTS = 500
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--use-gl=swiftshader",
    "--enable-unsafe-swiftshader",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _rss_mb(pid: int) -> tuple[float, float]:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def _start_server(folder: Path) -> tuple[subprocess.Popen, str, float]:
    port = _free_port()
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "scconcepts.cli", "serve", str(folder), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/"
    while True:
        try:
            urllib.request.urlopen(url + "api/info", timeout=2).read()
            return proc, url, time.perf_counter() - start
        except OSError:
            if proc.poll() is not None or time.perf_counter() - start > 600:
                raise RuntimeError("explorer server did not start") from None
            time.sleep(0.2)


def _paint(page, hash_: str, key: str) -> float:
    start = time.perf_counter()
    page.evaluate(f"location.hash = '{hash_}'")
    page.wait_for_function(f"document.body.dataset.painted === '{key}'", timeout=120_000)
    return time.perf_counter() - start


def main() -> None:
    """Build the synthetic folder, serve it, and time the browser."""
    from playwright.sync_api import sync_playwright

    from benchmarks._synthetic import make_synthetic_results

    with tempfile.TemporaryDirectory(prefix="bench-explorer-") as tmp:
        start = time.perf_counter()
        folder = make_synthetic_results(
            Path(tmp) / "results", n_cells=N_CELLS, n_concepts=N_CONCEPTS, n_types=20, n_dims=32, k=8, n_genes=2000
        )
        logger.info(
            "synthetic folder: %d cells x %d concepts in %.1f s", N_CELLS, N_CONCEPTS, time.perf_counter() - start
        )
        proc, url, startup = _start_server(folder)
        try:
            logger.info("server start (load results): %.1f s", startup)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
                page = browser.new_context(viewport={"width": 1300, "height": 900}, bypass_csp=True).new_page()
                start = time.perf_counter()
                page.goto(url + "#/concept/0")
                page.wait_for_function("document.body.dataset.painted === 'concept:0'", timeout=300_000)
                first = time.perf_counter() - start
                switches = [_paint(page, f"#/concept/{cid}", f"concept:{cid}") for cid in (1, 57, 250, 499, 3, 120, 7)]
                neuron = _paint(page, "#/neuron/0", "neuron:0")
                back = _paint(page, "#/concept/42", "concept:42")
                catalogue_start = time.perf_counter()
                page.evaluate("location.hash = '#/'")
                page.wait_for_selector("#catalogue tbody tr[data-id='499']", timeout=120_000)
                catalogue = time.perf_counter() - catalogue_start
                browser.close()
            rss, peak = _rss_mb(proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    median = statistics.median(switches)
    logger.info("first paint of a concept page (map upload incl.): %.2f s", first)
    logger.info(
        "concept switch: median %.3f s, max %.3f s over %d switches (target <= 1 s: %s)",
        median,
        max(switches),
        len(switches),
        "met" if median <= 1.0 else "MISSED",
    )
    logger.info("neuron page (all %d cells coloured): %.2f s; back to a concept: %.3f s", N_CELLS, neuron, back)
    logger.info("catalogue of %d concepts: %.2f s", N_CONCEPTS, catalogue)
    logger.info("server memory: %.0f MB resident, %.0f MB peak", rss, peak)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    main()
