"""Memory of the cells-sized hot spots: counterfactual neighbours, monosemanticity, concept encoding, Wilcoxon DE.

Each step runs in a fresh process on synthetic inputs (200,000 cells by default), and prints its wall time,
the peak resident memory it added over its inputs (RSS sampled every 50 ms) and tracemalloc's peak (numpy's
allocations; torch's and sklearn's own C buffers are only in the RSS), beside what a dense float64
cells-sized matrix of the same step would need.

``python -m benchmarks memory``; one step: ``python -m benchmarks.bench_memory STEP N_CELLS``.
"""

from __future__ import annotations

import gc
import json
import logging
import subprocess
import sys
import time
import tracemalloc

import numpy as np
import psutil
import scipy.sparse as sp

logger = logging.getLogger("benchmarks.memory")

N_CELLS = 200_000
#: The step's inputs: embedding dimension, concepts, active concepts per cell, concepts attributed x cells each.
DIM, N_CONCEPTS, K, N_ATTRIBUTED, N_CHOSEN = 64, 2048, 32, 100, 50
STEPS = ("neighbours", "neighbours_10d", "monosemanticity", "encode", "de")
#: The DE step: genes, share of non-zero expression values, concepts tested.
DE_GENES, DE_DENSITY, DE_CONCEPTS = 2_000, 0.1, 100


def _activations(n_cells: int, rng: np.random.Generator) -> sp.csr_matrix:
    """Cells x concepts with ``K`` positive values per cell, concepts drawn with skewed popularity."""
    popularity = rng.pareto(1.0, N_CONCEPTS) + 1
    popularity /= popularity.sum()
    cols = np.stack([rng.choice(N_CONCEPTS, K, replace=False, p=popularity) for _ in range(min(n_cells, 2_000))])
    cols = np.sort(cols[rng.integers(0, len(cols), n_cells)], axis=1)  # reuse 2,000 patterns: quick to draw
    indptr = np.arange(n_cells + 1, dtype=np.int64) * K
    values = rng.exponential(1.0, n_cells * K).astype(np.float32)
    return sp.csr_matrix((values, cols.ravel(), indptr), shape=(n_cells, N_CONCEPTS))


def _inputs(step: str, n_cells: int) -> tuple:
    rng = np.random.default_rng(0)
    if step.startswith("neighbours"):
        dim = 10 if step == "neighbours_10d" else DIM
        embedding = rng.normal(size=(n_cells, dim)).astype(np.float32)
        activations = _activations(n_cells, rng)
        from scconcepts.attribution import select_cells

        concepts = np.argsort(-activations.getnnz(axis=0))[:N_ATTRIBUTED]
        chosen = select_cells(activations, concepts, n_cells=N_CHOSEN)
        return embedding, activations, concepts, chosen
    if step == "monosemanticity":
        return _activations(n_cells, rng), rng.choice(list("ABCDEFG"), n_cells)
    if step == "de":
        x = sp.random(n_cells, DE_GENES, density=DE_DENSITY, format="csr", dtype=np.float32, random_state=0)
        x.data = np.log1p(np.ceil(x.data * 5))
        return x, sp.csr_matrix(_activations(n_cells, rng)[:, :DE_CONCEPTS] > 0)
    import torch

    from scconcepts.sae import TopKSAE

    torch.manual_seed(0)
    return TopKSAE(DIM, N_CONCEPTS, K), rng.normal(size=(n_cells, DIM)).astype(np.float32)


def _run(step: str, inputs: tuple) -> None:
    if step.startswith("neighbours"):
        from scconcepts.attribution import counterfactual_neighbours

        counterfactual_neighbours(*inputs)
    elif step == "monosemanticity":
        from scconcepts.evaluation import monosemanticity

        monosemanticity(*inputs)
    elif step == "de":
        from scconcepts.tl._de import wilcoxon_scores

        wilcoxon_scores(*inputs)
    else:
        from scconcepts.sae import encode_csr

        encode_csr(*inputs)


def measure(step: str, n_cells: int) -> dict[str, float]:
    """Run one step here on fresh inputs; its wall time and the memory it added over them (GiB)."""
    from benchmarks._memory import TreeRss

    inputs = _inputs(step, n_cells)
    gc.collect()
    before = psutil.Process().memory_info().rss / 2**30
    tracemalloc.start()
    start = time.perf_counter()
    with TreeRss() as rss:
        _run(step, inputs)
    seconds = time.perf_counter() - start
    traced = tracemalloc.get_traced_memory()[1] / 2**30
    tracemalloc.stop()
    return {"seconds": seconds, "rss_added_gib": rss.peak - before, "tracemalloc_peak_gib": traced}


def _reference(step: str, n_cells: int) -> str:
    """What the step held at once before (dense or copied), to read the added memory against."""
    if step.startswith("neighbours"):
        return f"the dense way: 512 x cells float64 distances, {512 * n_cells * 8 / 2**30:.2f} GiB"
    if step == "monosemanticity":
        return f"the dense way: cells x concepts float32, {n_cells * N_CONCEPTS * 4 / 2**30:.2f} GiB"
    if step == "encode":
        return f"stacked CSR blocks and their copy, {2 * n_cells * K * 8 / 2**30:.2f} GiB"
    nnz = n_cells * DE_GENES * DE_DENSITY
    return f"one float64 copy of the expression with its indices, {nnz * 12 / 2**30:.2f} GiB"


def main(n_cells: int = N_CELLS) -> None:
    """Measure every step in its own process and print the figures."""
    load = psutil.getloadavg()[0]
    logger.info("%d cells, %d concepts, k=%d; load average %.1f on %d CPUs", n_cells, N_CONCEPTS, K, load,
                psutil.cpu_count())  # fmt: skip
    for step in STEPS:
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.bench_memory", step, str(n_cells)],
            capture_output=True,
            text=True,
            check=True,
        )
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        logger.info(
            "%-16s %6.1f s  RSS added %.3f GiB  tracemalloc peak %.3f GiB  (%s)",
            step,
            figures["seconds"],
            figures["rss_added_gib"],
            figures["tracemalloc_peak_gib"],
            _reference(step, n_cells),
        )


if __name__ == "__main__":
    if len(sys.argv) == 3:
        sys.stdout.write(json.dumps(measure(sys.argv[1], int(sys.argv[2]))) + "\n")
    else:
        logging.basicConfig(level=logging.INFO, format="%(message)s")
        main(int(sys.argv[1]) if len(sys.argv) > 1 else N_CELLS)
