"""Torch threads under load: SAE and scVI epoch times with 1 thread, torch's default and the automatic choice.

Each is measured as the machine is, and again beside one competing CPU-bound process
(``python -c 'while 1: pass'``, as a notebook or a second run would be). The conditions are
interleaved within one run and the medians compared, because the machine may be shared; the load
average and the count of runnable tasks are logged beside every block. Sizes are the demo's: 3,500
cells, a 10-d scVI latent (SAE: expansion 4, k 5) and scVI on 2,000 HVGs of ``pbmc_sorted``.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from statistics import median
from typing import Any

import numpy as np

from scconcepts import _threads
from scconcepts._threads import HIDDEN, SAE_BATCH, SCVI_BATCH, SCVI_GENES, choose_threads, cpu_count, torch_threads

logger = logging.getLogger("benchmarks.threads")

N_CELLS, DIM, EXPANSION, K = 3500, 10, 4, 5
SAE_EPOCHS, SAE_REPEATS = 4, 3
SCVI_EPOCHS = 3  # the first is dropped (warm-up), the median of the rest is kept


def _load() -> str:
    runnable = _threads._runnable()
    return f"load average {os.getloadavg()[0]:.1f}, {runnable} runnable tasks, {cpu_count()} CPUs"


@contextmanager
def _spinner(on: bool):
    """One competing CPU-bound process while the block runs (when ``on``)."""
    proc = subprocess.Popen([sys.executable, "-c", "while 1: pass"]) if on else None
    try:
        if proc is not None:
            time.sleep(1.0)  # let the scheduler see it
        yield
    finally:
        if proc is not None:
            proc.kill()
            proc.wait()


def sae_epoch_seconds(embedding: np.ndarray, threads: int) -> float:
    """Seconds per epoch of Top-K SAE training (validation included) with ``threads`` torch threads."""
    from scconcepts.sae import SAEConfig, train

    with torch_threads(threads):
        start = time.perf_counter()
        train(embedding, SAEConfig(k=K, expansion=EXPANSION, epochs=SAE_EPOCHS, patience=SAE_EPOCHS, seed=0))
        return (time.perf_counter() - start) / SAE_EPOCHS


def _hvg_counts() -> Any:
    import scanpy as sc

    from scconcepts import ds

    adata = ds.pbmc_sorted()
    sc.pp.highly_variable_genes(adata, n_top_genes=SCVI_GENES, flavor="seurat_v3")
    return adata[:, adata.var["highly_variable"].to_numpy()].copy()


def scvi_epoch_seconds(counts: Any, threads: int) -> float:
    """Median seconds per scVI training epoch (after the first) with ``threads`` torch threads."""
    import scvi
    from lightning.pytorch.callbacks import Callback

    class EpochTimer(Callback):
        def __init__(self) -> None:
            self.seconds: list[float] = []

        def on_train_epoch_start(self, *args: Any) -> None:
            self.start = time.perf_counter()

        def on_train_epoch_end(self, *args: Any) -> None:
            self.seconds.append(time.perf_counter() - self.start)

    timer = EpochTimer()
    with torch_threads(threads):
        scvi.settings.seed = 0
        adata = counts.copy()
        scvi.model.SCVI.setup_anndata(adata)
        model = scvi.model.SCVI(adata, n_latent=DIM)
        model.train(
            max_epochs=SCVI_EPOCHS,
            accelerator="cpu",
            early_stopping=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            enable_checkpointing=False,
            callbacks=[timer],
        )
    return median(timer.seconds[1:])


def compare(name: str, measure: Callable[[int], float], choices: dict[str, int], repeats: int, work: float) -> None:
    """Log the median time of each thread choice, as the machine is and beside a spinner, and their ratios."""
    for spinner in (False, True):
        with _spinner(spinner):
            where = "beside a spinner" if spinner else "machine as is"
            logger.info("%s, %s (%s):", name, where, _load())
            logger.info("  the automatic choice here would be %d thread(s)", choose_threads(work))
            times: dict[str, list[float]] = {label: [] for label in choices}
            for _ in range(repeats):
                for label, n in choices.items():
                    times[label].append(measure(n))
            medians = {label: median(values) for label, values in times.items()}
            for label, value in medians.items():
                logger.info("  %-28s %8.3f s/epoch (%s)", label, value, ", ".join(f"{v:.3f}" for v in times[label]))
            one = medians[next(iter(choices))]
            for label, value in list(medians.items())[1:]:
                logger.info("  %s / 1 thread: %.1fx", label, value / one)
            logger.info("  (%s after the block)", _load())


def main() -> None:
    """Log the figures."""
    from scconcepts.cli import quiet_libraries

    quiet_libraries()
    logging.getLogger("scconcepts").setLevel(logging.WARNING)  # no per-run training chatter
    os.environ.pop("OMP_NUM_THREADS", None)  # the automatic choice, as a user without the variable gets it
    _threads.settings.threads = None
    default = cpu_count()  # torch starts one thread per core
    rng = np.random.default_rng(0)
    embedding = (rng.normal(size=(N_CELLS, DIM)) + 3).astype(np.float32)
    choices = {"1 thread": 1, f"torch default ({default})": default}
    sae_work = SAE_BATCH * DIM * DIM * EXPANSION
    compare(
        "SAE 3,500 x 10-d, expansion 4, k 5", lambda n: sae_epoch_seconds(embedding, n), choices, SAE_REPEATS, sae_work
    )
    counts = _hvg_counts()
    scvi_work = SCVI_BATCH * SCVI_GENES * HIDDEN
    compare(
        f"scVI {counts.n_obs} cells x {counts.n_vars} HVGs",
        lambda n: scvi_epoch_seconds(counts, n),
        choices,
        1,
        scvi_work,
    )
