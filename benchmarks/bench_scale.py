"""Scale: the pipeline on synthetic atlases of 100k, 300k and 1M cells (``python -m benchmarks scale``).

Synthetic sparse counts over 2,000 real gene symbols (Poisson programs: each cell runs 2 of 20 programs of
60 genes on a low background), encoded by a random TorchEncoder MLP (2,000 -> 256 -> 64). Stages: embed ->
SAE (+ encoding) -> attribute -> enrich + labels -> cell map -> results written. For each size, once in
one process and once with a 2-worker LocalCluster, it prints each stage's wall time and the peak RSS of
all processes (workers included), and at the end the exponent of cost in cells (log-log slope).

Sizes: ``SCCONCEPTS_SCALE_CELLS=100000,300000`` (default ``100000,300000,1000000``);
workers: ``SCCONCEPTS_SCALE_WORKERS=0,2`` (0 = one process; default both).
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch
from anndata import AnnData

from benchmarks._memory import TreeRss

logger = logging.getLogger("benchmarks.scale")

N_GENES, N_PROGRAMS, PROGRAM_SIZE, PROGRAMS_PER_CELL = 2000, 20, 60, 2
BACKGROUND_RATE, PROGRAM_RATE = 0.02, 1.5
CHUNK = 50_000


def synthetic_atlas(n_cells: int, seed: int = 0) -> AnnData:
    """Sparse integer counts with planted programs; ``obs["cell_type"]`` = the cell's first program."""
    from scconcepts import ds

    genes = sorted(ds.pbmc_sorted().var_names)[:N_GENES]
    rng = np.random.default_rng(seed)
    programs = rng.permuted(np.tile(np.arange(N_GENES), 1))[: N_PROGRAMS * PROGRAM_SIZE].reshape(N_PROGRAMS, -1)
    blocks, first_program = [], []
    for start in range(0, n_cells, CHUNK):
        n = min(CHUNK, n_cells - start)
        chosen = np.stack([rng.choice(N_PROGRAMS, PROGRAMS_PER_CELL, replace=False) for _ in range(n)])
        first_program.append(chosen[:, 0])
        prog_rows = np.repeat(np.arange(n), PROGRAMS_PER_CELL * PROGRAM_SIZE)
        prog_cols = programs[chosen].reshape(-1)
        prog_vals = rng.poisson(PROGRAM_RATE, prog_rows.size)
        n_background = rng.poisson(BACKGROUND_RATE * N_GENES, n)
        bg_rows = np.repeat(np.arange(n), n_background)
        bg_cols = rng.integers(0, N_GENES, bg_rows.size)
        rows = np.concatenate([prog_rows, bg_rows])
        cols = np.concatenate([prog_cols, bg_cols])
        vals = np.concatenate([prog_vals, np.ones(bg_rows.size, dtype=np.int64)]).astype(np.float32)
        keep = vals > 0
        block = sp.csr_matrix((vals[keep], (rows[keep], cols[keep])), shape=(n, N_GENES))
        block.sum_duplicates()
        blocks.append(block)
    adata = AnnData(sp.vstack(blocks, format="csr"))
    adata.var_names = genes
    adata.obs_names = [f"cell{i}" for i in range(n_cells)]
    adata.obs["cell_type"] = np.char.add("program_", np.concatenate(first_program).astype(str))
    adata.obs["cell_type"] = adata.obs["cell_type"].astype("category")
    return adata


def mlp_encoder(genes: list[str], seed: int = 0):
    """A random 2,000 -> 256 -> 64 MLP reading raw counts."""
    from scconcepts.models import TorchEncoder

    torch.manual_seed(seed)
    module = torch.nn.Sequential(torch.nn.Linear(len(genes), 256), torch.nn.ReLU(), torch.nn.Linear(256, 64))
    return TorchEncoder(module, genes, name="mlp")


def run_stages(adata: AnnData, client, folder: Path) -> dict[str, tuple[float, float]]:
    """Run every stage; return stage -> (seconds, peak GiB of all processes)."""
    from scconcepts import tl
    from scconcepts.tl._umap import cell_map

    encoder = mlp_encoder(list(adata.var_names))
    figures = {}

    def stage(name, function):
        with TreeRss() as memory:
            start = time.perf_counter()
            value = function()
            figures[name] = (time.perf_counter() - start, memory.peak)
        logger.info("  %-10s %8.1f s  peak %.2f GiB", name, *figures[name])
        return value

    stage("embed", lambda: tl.embed(adata, model=encoder, client=client))
    result = stage("sae", lambda: tl.train_sae(adata, use_rep="X_mlp", k=8, expansion=4))
    stage("attribute", lambda: tl.attribute(adata, encoder=encoder, sae=result.sae))
    stage("enrich", lambda: (tl.enrich(adata), tl.label_concepts(adata)))
    stage("map", lambda: cell_map(adata, use_rep="X_mlp"))
    stage("write", lambda: adata.write_h5ad(folder / "results.h5ad"))
    return figures


def main() -> None:
    """Measure and print the figures."""
    from scconcepts.distributed import dask_client

    sizes = [int(v) for v in os.environ.get("SCCONCEPTS_SCALE_CELLS", "100000,300000,1000000").split(",")]
    worker_counts = [int(v) for v in os.environ.get("SCCONCEPTS_SCALE_WORKERS", "0,2").split(",")]
    totals: dict[int, dict[int, float]] = {w: {} for w in worker_counts}
    for n_cells in sizes:
        start = time.perf_counter()
        with TreeRss() as memory:
            adata = synthetic_atlas(n_cells)
        logger.info(
            "%d cells x %d genes, %.0f non-zeros a cell: generated in %.1f s (peak %.2f GiB)",
            n_cells, N_GENES, adata.X.nnz / n_cells, time.perf_counter() - start, memory.peak,
        )  # fmt: skip
        for workers in worker_counts:
            logger.info("%d cells, %s:", n_cells, f"{workers} workers" if workers else "one process")
            with tempfile.TemporaryDirectory() as tmp, dask_client(workers=workers or None) as client:
                figures = run_stages(adata.copy(), client, Path(tmp))
            total = sum(seconds for seconds, _ in figures.values())
            peak = max(gib for _, gib in figures.values())
            totals[workers][n_cells] = total
            logger.info("  %-10s %8.1f s  peak %.2f GiB", "total", total, peak)
    for workers, by_size in totals.items():
        if len(by_size) >= 2:
            (n0, t0), (n1, t1) = min(by_size.items()), max(by_size.items())
            slope = math.log(t1 / t0) / math.log(n1 / n0)
            logger.info(
                "%s: %dx the cells cost %.1fx the time (exponent %.2f)",
                f"{workers} workers" if workers else "one process", n1 // n0, t1 / t0, slope,
            )  # fmt: skip
