"""SAE training throughput (sparse Top-K backward vs the dense baseline) and `make demo` wall time and memory."""

from __future__ import annotations

import logging
import resource
import subprocess
import sys
import tempfile
import time
from statistics import median

import torch

from scconcepts.sae._model import TopKSAE

logger = logging.getLogger("benchmarks.sae")

D_IN, EXPANSION, K, BATCH = 512, 8, 32, 4096


def _step_seconds(sae: TopKSAE, optimizer: torch.optim.Optimizer, x: torch.Tensor, *, sparse: bool) -> float:
    start = time.perf_counter()
    values, indices = sae.select(x, sparse=sparse)
    loss = (sae.reconstruct(values, indices, sparse=sparse) - x).pow(2).mean()
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    sae.project_decoder_grad()
    optimizer.step()
    sae.normalise_decoder()
    return time.perf_counter() - start


def training_throughput(repeats: int = 7) -> dict[str, float]:
    """Median samples/s of one training step at d=512, expansion 8, k=32, batch 4096, both backwards interleaved."""
    torch.manual_seed(0)
    x = torch.randn(BATCH, D_IN)
    models = {}
    for name in ("sparse", "dense"):
        torch.manual_seed(0)
        sae = TopKSAE(D_IN, EXPANSION * D_IN, K)
        models[name] = (sae, torch.optim.Adam(sae.parameters(), lr=1e-3))
    times: dict[str, list[float]] = {"sparse": [], "dense": []}
    for repeat in range(repeats + 1):
        for name, (sae, optimizer) in models.items():
            seconds = _step_seconds(sae, optimizer, x, sparse=name == "sparse")
            if repeat:  # the first step warms up allocators
                times[name].append(seconds)
    return {name: BATCH / median(values) for name, values in times.items()}


def demo_run() -> tuple[float, float]:
    """Wall time (s) and peak memory (GiB) of the demo pipeline run as a subprocess."""
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-m", "scconcepts.cli", "run", "--dataset", "pbmc68k", "--out", f"{folder}/demo"]
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        wall = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, peak_kib / 2**20


def main() -> None:
    """Log the figures."""
    rates = training_throughput()
    logger.info(
        "SAE training, d=%d expansion=%d k=%d batch=%d (median of 7 steps, one run):", D_IN, EXPANSION, K, BATCH
    )
    logger.info("  sparse Top-K backward: %8.0f samples/s", rates["sparse"])
    logger.info("  dense baseline:        %8.0f samples/s", rates["dense"])
    logger.info("  ratio sparse/dense:    %8.2fx", rates["sparse"] / rates["dense"])
    wall, peak = demo_run()
    logger.info("demo pipeline (scconcepts run --dataset pbmc68k): %.0f s wall, %.2f GiB peak memory", wall, peak)
