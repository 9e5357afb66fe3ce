"""The demo pipeline beside a competing CPU-bound process: wall time as the machine is, and with a spinner.

Runs ``scconcepts run --dataset pbmc_sorted --model scvi`` (what ``make demo`` runs after installing)
as the machine is, then beside one ``python -c 'while 1: pass'``, and logs both wall times, their ratio
and the load average (target: at most 2x). ``--threads`` is left automatic, as a user gets it; set
``SCCONCEPTS_DEMO_THREADS`` (e.g. to the CPU count) to time a fixed thread count instead, and
``SCCONCEPTS_DEMO_DATASET=pbmc68k`` for the smaller bundled dataset when the machine is too busy.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
import time

from benchmarks.bench_threads import _load, _spinner

logger = logging.getLogger("benchmarks.demo_load")


def demo_seconds(out: str) -> float:
    """Wall time of the demo pipeline into ``out``."""
    dataset = os.environ.get("SCCONCEPTS_DEMO_DATASET", "pbmc_sorted")
    command = [sys.executable, "-m", "scconcepts.cli", "run", "--dataset", dataset, "--model", "scvi"]
    threads = os.environ.get("SCCONCEPTS_DEMO_THREADS")
    if threads:
        command += ["--threads", threads]
    start = time.perf_counter()
    subprocess.run([*command, "--out", out, "--overwrite"], check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    """Log the figures."""
    env_threads = {k: os.environ[k] for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS") if k in os.environ}
    logger.info("thread variables set by the caller: %s", env_threads or "none (automatic choice)")
    logger.info("dataset: %s", os.environ.get("SCCONCEPTS_DEMO_DATASET", "pbmc_sorted"))
    times = {}
    with tempfile.TemporaryDirectory() as tmp:
        for spinner in (False, True):
            label = "beside a spinner" if spinner else "machine as is"
            with _spinner(spinner):
                before = _load()
                times[label] = demo_seconds(f"{tmp}/demo")
                logger.info("  demo %-18s %7.1f s (%s before; %s after)", label, times[label], before, _load())
    logger.info("  ratio with a spinner / without: %.2fx", times["beside a spinner"] / times["machine as is"])
