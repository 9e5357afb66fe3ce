"""Peak memory of token extraction: 3,500 cells x 1,200 tokens x 512-d through ``tl.token_activations``.

The full-size random-weight scGPT (512-d, 8 heads, 12 layers, the whole-human vocabulary;
:func:`benchmarks.bench_token_models.write_full_size_checkpoint`) reads ``layer_1``: the encoder runs only the layers
up to the one read, and the memory does not depend on depth (a chunk's states are ``cells x tokens x 512`` at any
layer), whereas 12 layers of 4.2M tokens on 2 CPU cores would take hours. Cells have 1,200 expressed genes (1,199
gene tokens after ``<cls>``). The extraction runs in a fresh process whose whole lifetime (the cells, the model, the
extraction) is sampled by :class:`benchmarks._memory.TreeRss`; the store (8.6 GB at 3,500 cells) is deleted after.

``python -m benchmarks token_memory``; fewer cells: ``python -m benchmarks.bench_token_memory 300``.
"""

from __future__ import annotations

import json
import logging
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

logger = logging.getLogger(__name__)

N_CELLS = 3_500
GENES_PER_CELL = 1_200
LAYER = "layer_1"
LIMIT_GIB = 4.0


def _child(n_cells: int, checkpoint: Path, store: Path) -> None:
    """In the fresh process: build the cells and the encoder, extract, print one JSON line of figures."""
    from benchmarks._memory import TreeRss

    with TreeRss() as rss:
        import torch

        from benchmarks.bench_token_models import synthetic_cells
        from scconcepts import tl
        from scconcepts.models._scgpt import build_scgpt

        torch.set_num_threads(2)
        genes = json.loads((checkpoint / "genes.json").read_text())
        adata = synthetic_cells(genes, n_cells, GENES_PER_CELL)
        encoder = build_scgpt(adata, checkpoint=checkpoint, min_fraction=0.0, layer=LAYER)
        start = time.perf_counter()
        result = tl.token_activations(adata, encoder, path=store)
        seconds = time.perf_counter() - start
    size = sum(path.stat().st_size for path in store.iterdir()) / 2**30
    print(json.dumps({"tokens": result.n_tokens, "dim": result.dim, "seconds": seconds, "peak_gib": rss.peak,
                      "maxrss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
                      "store_gib": size}))  # fmt: skip


def measure(n_cells: int) -> dict:
    """Write the checkpoint, extract in a fresh process, delete the store; return the child's figures."""
    from benchmarks.bench_token_models import write_full_size_checkpoint

    with tempfile.TemporaryDirectory(prefix="token-memory-") as tmp:
        checkpoint = Path(tmp) / "checkpoint"
        checkpoint.mkdir()
        genes = write_full_size_checkpoint(checkpoint)
        (checkpoint / "genes.json").write_text(json.dumps(genes))
        store = Path(tmp) / "store"
        try:
            command = [sys.executable, "-m", "benchmarks.bench_token_memory", "child", str(n_cells), str(checkpoint)]
            done = subprocess.run([*command, str(store)], capture_output=True, text=True, check=True)
        finally:
            shutil.rmtree(store, ignore_errors=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(n_cells: int = N_CELLS) -> None:
    """Print the peak memory and wall time of extracting ``n_cells`` cells' token states."""
    figures = measure(n_cells)
    verdict = "under" if figures["peak_gib"] < LIMIT_GIB else "OVER"
    print(f"token extraction memory: {n_cells:,} cells x {GENES_PER_CELL:,} tokens x {figures['dim']}-d "
          f"({figures['tokens']:,} tokens, store {figures['store_gib']:.2f} GiB), scgpt 12 layers reading {LAYER}, "
          f"2 threads: peak RSS {figures['peak_gib']:.2f} GiB (max RSS {figures['maxrss_gib']:.2f} GiB), "
          f"{verdict} {LIMIT_GIB:.0f} GiB; extraction {figures['seconds']:.0f} s")  # fmt: skip


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    if sys.argv[1:2] == ["child"]:
        _child(int(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]))
    else:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else N_CELLS)
