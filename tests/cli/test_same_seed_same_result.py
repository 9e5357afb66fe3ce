"""Same seed, same result: ``scconcepts run`` beside a CPU-bound process gives the concepts of a run on an idle CPU.

The two runs differ in what the machine is doing: one reads the machine as idle, the other runs beside a
process spinning ``while True: pass`` and reads the machine as fully busy. The load the package reads is
fixed in each run (``_threads._runnable``, the count of runnable tasks), so that the two extremes are met
on any machine, however many CPUs it has and whatever else it runs.
"""

import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from scconcepts._threads import THREAD_VARIABLES

RUN = [
    "run",
    "--dataset",
    "pbmc68k",
    "--max-epochs",
    "2",
    "--k",
    "3",
    "--expansion",
    "2",
    "--epochs",
    "5",
    "--seeds",
    "2",
    "--device",
    "cpu",
    "--no-enrichment",
]
# a run whose load reading is fixed: `runnable` tasks ready to run on the machine, this one included
LAUNCH = """
import sys
from scconcepts import _threads
_threads._runnable = lambda: {runnable}
from scconcepts.cli import main
sys.exit(main({args!r}))
"""


@contextmanager
def _spinning():
    """A CPU-bound process beside the block."""
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield
    finally:
        spinner.kill()
        spinner.wait()


def _run(out: Path, runnable: int) -> None:
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARIABLES}  # the automatic thread choice
    code = LAUNCH.format(runnable=runnable, args=[*RUN, "--out", str(out)])
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=1200, env=env)
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.mark.slow
def test_a_run_beside_a_busy_process_gives_the_same_concepts(tmp_path):
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    _run(tmp_path / "idle", runnable=1)
    with _spinning():
        _run(tmp_path / "busy", runnable=1 + 2 * cpus)
    idle, busy = (ad.read_h5ad(tmp_path / name / "results.h5ad") for name in ("idle", "busy"))
    assert np.array_equal(idle.obsm["X_scvi"], busy.obsm["X_scvi"])  # the same embedding, bit for bit
    first, second = idle.obsm["X_concepts"], busy.obsm["X_concepts"]
    assert first.shape == second.shape and (first != second).nnz == 0  # the same activations, bit for bit
    concepts = [(tmp_path / name / "concepts.csv").read_bytes() for name in ("idle", "busy")]
    assert concepts[0] == concepts[1]
    assert len(pd.read_csv(tmp_path / "idle" / "concepts.csv")) >= 1
    attribution = [(tmp_path / name / "attribution.csv").read_bytes() for name in ("idle", "busy")]
    assert attribution[0] == attribution[1]
