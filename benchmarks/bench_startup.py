"""Start-up time of the command line: ``scconcepts --help``, ``info`` and ``serve`` (to its first answer).

Target: ``--help`` under 1.5 s on a quiet machine; ``info`` and ``serve`` about a second (they must not
import torch). Each command runs 5 times as a fresh process; the median is logged with the load average,
and ``python -X importtime`` names the slowest imports of ``serve``.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from statistics import median

logger = logging.getLogger("benchmarks.startup")

REPEATS = 5
CLI = [sys.executable, "-m", "scconcepts.cli"]


def _seconds(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve_seconds(folder: Path) -> float:
    """Seconds from starting ``scconcepts serve`` until ``/api/info`` answers."""
    port = _free_port()
    start = time.perf_counter()
    command = [*CLI, "serve", str(folder), "--port", str(port)]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/info", timeout=1):
                    return time.perf_counter() - start
            except (urllib.error.URLError, ConnectionError):
                if proc.poll() is not None:
                    raise RuntimeError("scconcepts serve exited") from None
                time.sleep(0.02)
    finally:
        proc.terminate()
        proc.wait()


def slowest_imports(code: str, n: int = 6) -> list[tuple[float, str]]:
    """The ``n`` largest cumulative import times (s) of ``code`` in a fresh interpreter."""
    result = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True)
    rows = []
    for line in result.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]) / 1e6, parts[2].rstrip()))
    return sorted(rows, reverse=True)[:n]


def main() -> None:
    """Log the figures."""
    from benchmarks._synthetic import make_synthetic_results

    with tempfile.TemporaryDirectory() as tmp:
        folder = make_synthetic_results(Path(tmp) / "results", with_sae=False)
        logger.info("load average before: %.1f (%d CPUs)", os.getloadavg()[0], os.cpu_count() or 1)
        runs = {
            "scconcepts --help": lambda: _seconds([*CLI, "--help"]),
            "scconcepts info DIR": lambda: _seconds([*CLI, "info", str(folder)]),
            "scconcepts serve DIR (to first answer)": lambda: serve_seconds(folder),
            "python -c 'import torch' (for scale)": lambda: _seconds([sys.executable, "-c", "import torch"]),
        }
        for label, run in runs.items():
            times = [run() for _ in range(REPEATS)]
            logger.info("  %-40s median %.2f s (%s)", label, median(times), ", ".join(f"{t:.2f}" for t in times))
        logger.info("load average after: %.1f", os.getloadavg()[0])
        logger.info("slowest imports of the explorer (cumulative):")
        for seconds, name in slowest_imports("import scconcepts.app"):
            logger.info("  %6.2f s %s", seconds, name)
