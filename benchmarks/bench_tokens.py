"""Gene-token figures: token extraction tokens/s (full-width scGPT) and token SAE steps/s, ours against eai-sparsify.

(a) ``tl.token_activations`` on the full-size random-weight scGPT (512-d, 8 heads, 12 layers, the whole-human
vocabulary; :func:`benchmarks.bench_token_models.write_full_size_checkpoint`), cells of 1,200 expressed genes
(1,199 gene tokens each), reading ``layer_1`` and, on fewer cells, ``layer_12``: the encoder runs only the layers up to
the one read, so the two rates differ by about the depth.

(b) Token SAE training steps per second on that store (memory-mapped, as ``tl.train_token_sae`` reads it): ours
(:func:`scconcepts.sae._train.train_step`, Top-K with the sparse backward) against sparsify's ``SparseCoder`` driven
as its trainer drives it (:mod:`benchmarks._sae_steps`), same width (512 x 8 = 4,096 latents), k = 32, AuxK weight
1/32 on latents dead for 10 batches, same batches read from the store. The two alternate step by step (the order
flips every repeat) and the medians are compared: paired, interleaved, one process.

(c) The same on the GPU when torch sees one; otherwise one line says it was not measured.

``python -m benchmarks tokens``; quicker: ``python -m benchmarks.bench_tokens quick``.
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmarks._sae_steps import make_steps
from benchmarks.bench_token_models import synthetic_cells, write_full_size_checkpoint

logger = logging.getLogger(__name__)

GENES_PER_CELL = 1_200
WIDTH = {"k": 32, "expansion": 8}
BATCHES = (256, 4096)


def extraction(folder: Path, genes: list[str], device: str, n_cells: int, layer: str, store: Path) -> Any:
    """Read ``layer``'s token states of ``n_cells`` synthetic cells into ``store``; print tokens/s; return the store."""
    from scconcepts import tl
    from scconcepts.models._scgpt import build_scgpt

    adata = synthetic_cells(genes, n_cells, GENES_PER_CELL)
    encoder = build_scgpt(adata, checkpoint=folder, device=device, min_fraction=0.0, layer=layer)
    tl.token_activations(adata[:1], encoder, path=store, overwrite=True)  # warm-up
    _sync(device)
    start = time.perf_counter()
    result = tl.token_activations(adata, encoder, path=store, overwrite=True)
    _sync(device)
    seconds = time.perf_counter() - start
    print(f"token extraction [{device}] scgpt 512-d, {layer} of 12: {result.n_tokens / seconds:,.0f} tokens/s "
          f"({result.n_tokens:,} tokens of {n_cells} cells in {seconds:.1f} s)")  # fmt: skip
    return result


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def paired_steps(states: Any, device: str, batch_size: int, repeats: int) -> dict[str, float]:
    """Median seconds per step of ours and sparsify's, alternating, each reading its batch from ``states``."""
    from scconcepts.sae._data import iter_minibatches

    n_tokens = states.shape[0]
    steps = make_steps(states, **WIDTH, batch_size=batch_size, device=device, n_steps=repeats + 3)
    rows = np.arange(n_tokens)

    def batches() -> Any:
        epoch = 0
        while True:  # endless: a new shuffle every pass over the store, the same for both
            yield from iter_minibatches(states, rows, batch_size, np.random.default_rng(epoch))
            epoch += 1

    readers = {name: batches() for name in steps}
    times: dict[str, list[float]] = {name: [] for name in steps}
    for repeat in range(repeats + 3):
        for name in list(steps) if repeat % 2 == 0 else list(steps)[::-1]:
            _sync(device)
            start = time.perf_counter()
            batch = next(readers[name])
            if len(batch) < batch_size:  # the end of a pass: both skip its short batch
                batch = next(readers[name])
            steps[name](batch)
            _sync(device)
            if repeat >= 3:  # the first three are warm-up
                times[name].append(time.perf_counter() - start)
    return {name: float(np.median(values)) for name, values in times.items()}


def sae_figures(states: Any, device: str, repeats: int) -> None:
    """Print both libraries' steps/s and their ratio at each batch size."""
    for batch_size in BATCHES:
        median = paired_steps(states, device, batch_size, repeats)
        ratio = median["sparsify"] / median["ours"]
        print(f"token SAE [{device}] {states.shape[1]} x {WIDTH['expansion']} = "
              f"{states.shape[1] * WIDTH['expansion']:,} latents, k={WIDTH['k']}, batch {batch_size}: ours "
              f"{1 / median['ours']:.2f} steps/s, sparsify {1 / median['sparsify']:.2f} steps/s, ratio {ratio:.2f}x "
              f"(medians of {repeats} paired steps)")  # fmt: skip


def _run(device: str, folder: Path, genes: list[str], tmp: Path, quick: bool) -> None:
    n_cells, n_deep = (8, 2) if quick else (48, 4)
    if device.startswith("cuda"):
        n_cells, n_deep = n_cells * 8, n_deep * 8
    extraction(folder, genes, device, n_deep, "layer_12", tmp / f"deep-{device}")
    store = extraction(folder, genes, device, n_cells, "layer_1", tmp / f"store-{device}")
    sae_figures(store.states, device, 6 if quick else 20)


def main(quick: bool = False) -> None:
    """Measure and print the figures (2 CPU threads; and the GPU when one is present)."""
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "checkpoint"
        folder.mkdir()
        genes = write_full_size_checkpoint(folder)
        _run("cpu", folder, genes, Path(tmp), quick)
        if torch.cuda.is_available():
            _run("cuda", folder, genes, Path(tmp), quick)
        else:
            print("no GPU here: GPU figures not measured")


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    main(quick="quick" in sys.argv[1:])
