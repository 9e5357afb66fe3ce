"""Scale: the pipeline on synthetic atlases of 100k, 300k and 1M cells (``python -m benchmarks scale``).

Synthetic sparse counts over 2,000 real gene symbols (Poisson programs: each cell runs 2 of 20 programs of
60 genes on a low background), written to an ``.h5ad``; a random TorchEncoder MLP (2,000 -> 256 -> 64)
saved as a checkpoint. Each (size, workers) configuration runs in a fresh process, so its memory is its
own, the stages of ``scconcepts run --model torch --seeds 3`` one after another through the same
functions: read -> embed -> consensus SAE (3 seeds, on the workers as in ``run --workers``) -> encode
(all cells again, checked against the stored activations) -> cell map -> attribute (+ explanation
score) -> enrich + labels -> results folder written (h5ad, CSVs, model, SAE, report) -> explorer opened
(its data loaded, ``/api/info``, ``/api/umap``, the catalogue and one concept's values served). It prints
each stage's wall time and the peak RSS of all processes (dask workers included, sampled every 50 ms),
the 1-minute load average, and at the end, per worker count, the exponent of cost in cells (log-log
slope between the smallest and largest size) and whether 2 workers gave 1 worker's results (embedding,
activations, attribution scores).

Sizes: ``SCCONCEPTS_SCALE_CELLS=100000,300000`` (default ``100000,300000,1000000``); workers:
``SCCONCEPTS_SCALE_WORKERS=1,2`` (default; 0 = one process, no dask); seeds: ``SCCONCEPTS_SCALE_SEEDS``
(default 3); ``SCCONCEPTS_SCALE_BACKED=1`` reads the h5ad lazily (the larger-than-memory path);
``SCCONCEPTS_SCALE_DIR`` keeps the files (default: a temporary folder).
"""

from __future__ import annotations

import json
import logging
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from anndata import AnnData

from benchmarks._memory import TreeRss

logger = logging.getLogger("benchmarks.scale")

N_GENES, N_PROGRAMS, PROGRAM_SIZE, PROGRAMS_PER_CELL = 2000, 20, 60, 2
BACKGROUND_RATE, PROGRAM_RATE = 0.02, 1.5
CHUNK = 50_000
KEY = "concepts"
K, EXPANSION = 8, 4


def synthetic_atlas(n_cells: int, seed: int = 0, *, n_genes: int = N_GENES) -> AnnData:
    """Sparse integer counts with planted programs; ``obs["cell_type"]`` = the cell's first program."""
    from scconcepts import ds

    genes = sorted(ds.pbmc_sorted().var_names)[:n_genes]
    rng = np.random.default_rng(seed)
    programs = rng.permutation(n_genes)[: N_PROGRAMS * PROGRAM_SIZE].reshape(N_PROGRAMS, -1)
    blocks, first_program = [], []
    for start in range(0, n_cells, CHUNK):
        n = min(CHUNK, n_cells - start)
        chosen = np.argsort(rng.random((n, N_PROGRAMS)), axis=1)[:, :PROGRAMS_PER_CELL]
        first_program.append(chosen[:, 0])
        prog_rows = np.repeat(np.arange(n), PROGRAMS_PER_CELL * PROGRAM_SIZE)
        prog_cols = programs[chosen].reshape(-1)
        prog_vals = rng.poisson(PROGRAM_RATE, prog_rows.size)
        n_background = rng.poisson(BACKGROUND_RATE * n_genes, n)
        bg_rows = np.repeat(np.arange(n), n_background)
        bg_cols = rng.integers(0, n_genes, bg_rows.size)
        rows = np.concatenate([prog_rows, bg_rows])
        cols = np.concatenate([prog_cols, bg_cols])
        vals = np.concatenate([prog_vals, np.ones(bg_rows.size, dtype=np.int64)]).astype(np.float32)
        keep = vals > 0
        block = sp.csr_matrix((vals[keep], (rows[keep], cols[keep])), shape=(n, n_genes))
        block.sum_duplicates()
        blocks.append(block)
    adata = AnnData(sp.vstack(blocks, format="csr"))
    adata.var_names = genes
    adata.obs_names = np.char.add("cell", np.arange(n_cells).astype(str))
    adata.obs["cell_type"] = np.char.add("program_", np.concatenate(first_program).astype(str))
    adata.obs["cell_type"] = adata.obs["cell_type"].astype("category")
    return adata


def mlp_encoder(genes: list[str], seed: int = 0, *, hidden: int = 256, dim: int = 64):
    """A random ``len(genes) -> hidden -> dim`` MLP reading raw counts."""
    import torch

    from scconcepts.models import TorchEncoder

    torch.manual_seed(seed)
    module = torch.nn.Sequential(torch.nn.Linear(len(genes), hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, dim))
    return TorchEncoder(module, genes, name="mlp")


def run_stages(h5ad: Path, checkpoint: Path, out: Path, workers: int, seeds: int, backed: bool) -> dict[str, Any]:
    """Run every stage of ``scconcepts run`` on one configuration; return the figures and result digests."""
    import warnings

    from fastapi.testclient import TestClient

    from scconcepts import ds, tl
    from scconcepts.app._server import create_app
    from scconcepts.cli._run import add_attribution, add_enrichment, compute_umap, summary_metrics
    from scconcepts.distributed import dask_client
    from scconcepts.models._torch import load_torch
    from scconcepts.report import write_report
    from scconcepts.results import (
        METRICS_JSON,
        MODEL_DIR,
        RESULTS_H5AD,
        SAE_DIR,
        new_results_folder,
        write_concepts_csv,
    )
    from scconcepts.sae import encode_csr, save_sae

    warnings.filterwarnings("ignore", category=UserWarning)
    figures: dict[str, tuple[float, float, float]] = {}

    def stage(name, function):
        with TreeRss() as memory:
            start = time.perf_counter()
            value = function()
            figures[name] = (time.perf_counter() - start, memory.peak, os.getloadavg()[0])
        logger.info("  %-10s %8.1f s  peak %5.2f GiB  load %.1f", name, *figures[name])
        return value

    start_all = time.perf_counter()
    with TreeRss() as total_memory, dask_client(workers=workers or None) as client:
        info = {"command": "run", "input": str(h5ad), "model": "torch"}
        with new_results_folder(out, overwrite=True, info=info) as tmp:
            adata = stage("read", lambda: ds.read(h5ad, backed=backed))
            encoder = load_torch(checkpoint)
            stage("embed", lambda: tl.embed(adata, model=encoder, client=client))
            use_rep = encoder.obsm_key
            options = {"k": K, "expansion": EXPANSION, "key_added": KEY, "labels_key": "cell_type", "n_seeds": seeds}
            result = stage("sae", lambda: tl.train_sae(adata, use_rep=use_rep, client=client, **options))
            activations = adata.obsm[f"X_{KEY}"]
            encoded = stage("encode", lambda: _encode(result.sae, adata.obsm[use_rep], client, encode_csr))
            stage("map", lambda: compute_umap(adata, use_rep))
            stage("attribute", lambda: add_attribution(adata, tmp, encoder=encoder, sae=result.sae, key=KEY,
                                                       client=client))  # fmt: skip
            enrichment = stage("enrich", lambda: add_enrichment(adata, tmp, key=KEY))

            def write() -> None:
                encoder.save(tmp / MODEL_DIR)
                save_sae(result.sae, tmp / SAE_DIR, config=result.config, extra={"use_rep": use_rep, "model": "mlp"})
                metrics = {**summary_metrics(adata, KEY), "enrichment": enrichment}
                write_concepts_csv(adata, tmp, key=KEY)
                (tmp / METRICS_JSON).write_text(json.dumps(metrics, indent=2, default=str))
                adata.write_h5ad(tmp / RESULTS_H5AD)
                write_report(out, staging=tmp, new_run=True)

            stage("write", write)

        def explore() -> int:
            client_app = TestClient(create_app(out, allowed_hosts=["testserver"]))
            sizes = 0
            for url in ("/api/info", "/api/umap", "/api/concepts", "/api/concepts/0", "/api/concepts/0/activations"):
                response = client_app.get(url)
                response.raise_for_status()
                sizes += len(response.content)
            return sizes

        sent = stage("explorer", explore)
    digests = {
        "embedding": np.asarray(adata.obsm[use_rep], dtype=np.float64),
        "activations": activations,
        "attribution": np.asarray(adata.varm[f"{KEY}_attribution"], dtype=np.float64),
    }
    encode_error = float(abs(encoded - activations).max()) if activations.nnz else 0.0
    return {
        "figures": figures,
        "total": (time.perf_counter() - start_all, total_memory.peak),
        "encode_error": encode_error,
        "explorer_bytes": int(sent),
        "n_alive": int((activations.getnnz(axis=0) > 0).sum()),
        "digests": digests,
    }


def _encode(sae, embedding, client, encode_csr):
    if client is None:
        return encode_csr(sae, embedding)
    from scconcepts.sae._workers import encode_on_workers

    return encode_on_workers(sae, embedding, client=client)


def _child(argv: list[str]) -> None:
    """``python -m benchmarks.bench_scale H5AD CHECKPOINT OUT WORKERS SEEDS BACKED RESULT.npz``."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for noisy in ("distributed", "httpx", "tornado", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    h5ad, checkpoint, out, workers, seeds, backed, result = argv
    figures = run_stages(Path(h5ad), Path(checkpoint), Path(out), int(workers), int(seeds), backed == "1")
    digests = figures.pop("digests")
    np.savez(result, embedding=digests["embedding"], attribution=digests["attribution"])
    sp.save_npz(result + ".activations.npz", digests["activations"])
    Path(result + ".json").write_text(json.dumps(figures))


def _run_child(folder: Path, n_cells: int, workers: int, seeds: int, backed: bool) -> dict[str, Any]:
    tag = f"{n_cells}_{workers}"
    result = str(folder / f"result_{tag}")
    command = [sys.executable, "-m", "benchmarks.bench_scale", str(folder / f"atlas_{n_cells}.h5ad"),
               str(folder / "mlp"), str(folder / f"run_{tag}"), str(workers), str(seeds), "1" if backed else "0",
               result]  # fmt: skip
    with TreeRss() as memory:  # the child and its workers, from outside (a check on the child's own figures)
        code = subprocess.call(command)
    if code != 0:
        raise RuntimeError(f"{n_cells} cells, {workers} workers: the run failed (exit {code})")
    figures = json.loads(Path(result + ".json").read_text())
    figures["outside_peak"] = memory.peak
    arrays = np.load(result + ".npz")
    figures["digests"] = {
        "embedding": arrays["embedding"],
        "attribution": arrays["attribution"],
        "activations": sp.load_npz(result + ".activations.npz"),
    }
    return figures


def _label(workers: int) -> str:
    return {0: "one process", 1: "1 worker"}.get(workers, f"{workers} workers")


def main() -> None:
    """Measure and print the figures."""
    sizes = [int(v) for v in os.environ.get("SCCONCEPTS_SCALE_CELLS", "100000,300000,1000000").split(",")]
    worker_counts = [int(v) for v in os.environ.get("SCCONCEPTS_SCALE_WORKERS", "1,2").split(",")]
    seeds = int(os.environ.get("SCCONCEPTS_SCALE_SEEDS", "3"))
    backed = os.environ.get("SCCONCEPTS_SCALE_BACKED", "0") == "1"
    keep = os.environ.get("SCCONCEPTS_SCALE_DIR")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(keep or scratch)
        folder.mkdir(parents=True, exist_ok=True)
        logger.info("2 cores shared; load average at start %.1f; seeds %d; %s input", os.getloadavg()[0], seeds,
                    "lazily read (backed)" if backed else "loaded")  # fmt: skip
        totals: dict[int, dict[int, tuple[float, float]]] = {w: {} for w in worker_counts}
        for n_cells in sizes:
            path = folder / f"atlas_{n_cells}.h5ad"
            if not path.exists():
                start = time.perf_counter()
                adata = synthetic_atlas(n_cells)
                adata.write_h5ad(path)
                if not (folder / "mlp").exists():
                    mlp_encoder(list(adata.var_names)).save(folder / "mlp")
                logger.info("%d cells x %d genes, %.0f non-zeros a cell, %.2f GiB as CSR: written in %.1f s",
                            n_cells, N_GENES, adata.X.nnz / n_cells, adata.X.nnz * 8 / 2**30,
                            time.perf_counter() - start)  # fmt: skip
                del adata
            runs = {}
            for workers in worker_counts:
                logger.info("%d cells, %s:", n_cells, _label(workers))
                runs[workers] = _run_child(folder, n_cells, workers, seeds, backed)
                seconds, peak = runs[workers]["total"]
                totals[workers][n_cells] = (seconds, peak)
                logger.info("  %-10s %8.1f s  peak %5.2f GiB (all processes; %.2f GiB seen from outside); "
                            "re-encoding error %.1e; explorer sent %.1f MB", "total", seconds, peak,
                            runs[workers]["outside_peak"], runs[workers]["encode_error"],
                            runs[workers]["explorer_bytes"] / 1e6)  # fmt: skip
            _compare(n_cells, runs)
        for workers, by_size in totals.items():
            if len(by_size) >= 2:
                (n0, (t0, _)), (n1, (t1, m1)) = min(by_size.items()), max(by_size.items())
                logger.info(
                    "%s: %gx the cells cost %.1fx the time (exponent %.2f); peak %.2f GiB at %d cells",
                    _label(workers), n1 / n0, t1 / t0, math.log(t1 / t0) / math.log(n1 / n0), m1, n1,
                )  # fmt: skip
        if len(worker_counts) == 2:
            a, b = worker_counts
            for n_cells in sizes:
                logger.info("%d cells: %s / %s time %.2f", n_cells, _label(b), _label(a),
                            totals[b][n_cells][0] / totals[a][n_cells][0])  # fmt: skip


def _compare(n_cells: int, runs: dict[int, dict[str, Any]]) -> None:
    """Log whether every worker count gave the first one's results."""
    counts = sorted(runs)
    for other in counts[1:]:
        a, b = runs[counts[0]]["digests"], runs[other]["digests"]
        embedding = float(np.abs(a["embedding"] - b["embedding"]).max())
        activations = float(abs(a["activations"] - b["activations"]).max()) if a["activations"].nnz else 0.0
        attribution = float(np.abs(a["attribution"] - b["attribution"]).max())
        logger.info("%d cells: %s vs %s: max |difference| embedding %.1e, activations %.1e, attribution %.1e",
                    n_cells, _label(other), _label(counts[0]), embedding, activations, attribution)  # fmt: skip


if __name__ == "__main__":
    _child(sys.argv[1:])
