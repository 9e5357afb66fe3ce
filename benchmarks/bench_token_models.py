"""scGPT at full size (d=512, 12 layers, 8 heads, ~60k-token vocabulary, random weights) on 2 CPU threads.

Figures: cells embedded per second at 300 and 1,200 expressed genes per cell (tokenisation included, read
through the official checkpoint format), and perturbed forwards per second for attribution: the variants
of one cell (one gene masked each) in one padded batch against one call per variant. On a GPU, when one
is present, the same figures are measured there too.

Run alone with ``python -m benchmarks.bench_token_models [quick]``.
"""

from __future__ import annotations

import json
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch
from anndata import AnnData

from scconcepts.models._scgpt import ScgptEncoder, build_scgpt
from scconcepts.models._scgpt_model import ScgptTransformer

logger = logging.getLogger(__name__)

N_GENES = 60_694  # + <pad>, <cls>, <eoc>: the whole-human vocabulary's 60,697 tokens
SHAPE = {"embsize": 512, "nheads": 8, "d_hid": 512, "nlayers": 12}


def write_full_size_checkpoint(folder: Path, n_layers: int = SHAPE["nlayers"]) -> list[str]:
    """Write an scGPT checkpoint folder with the whole-human model's shapes (``n_layers`` layers), random weights."""
    genes = [f"GENE{i}" for i in range(N_GENES)]
    vocab = {g: i for i, g in enumerate(genes)}
    for token in ("<pad>", "<cls>", "<eoc>"):
        vocab[token] = len(vocab)
    torch.manual_seed(0)
    model = ScgptTransformer(
        len(vocab), SHAPE["embsize"], SHAPE["nheads"], SHAPE["d_hid"], n_layers, pad_id=vocab["<pad>"]
    )
    state = {k.replace("self_attn.in_proj_", "self_attn.Wqkv."): v for k, v in model.state_dict().items()}
    torch.save(state, folder / "best_model.pt")
    (folder / "vocab.json").write_text(json.dumps(vocab))
    args = {**SHAPE, "nlayers": n_layers, "pad_token": "<pad>", "pad_value": -2, "n_bins": 51}
    args["input_emb_style"] = "continuous"
    (folder / "args.json").write_text(json.dumps(args))
    return genes


def synthetic_cells(genes: list[str], n_cells: int, n_expressed: int, seed: int = 0) -> AnnData:
    """Cells with exactly ``n_expressed`` expressed genes each (negative-binomial counts)."""
    rng = np.random.default_rng(seed)
    cols = np.concatenate([rng.choice(len(genes), n_expressed, replace=False) for _ in range(n_cells)])
    rows = np.repeat(np.arange(n_cells), n_expressed)
    counts = rng.negative_binomial(2, 0.4, len(rows)) + 1
    matrix = sp.csr_matrix((counts.astype(np.float32), (rows, cols)), shape=(n_cells, len(genes)))
    adata = AnnData(matrix)
    adata.var_names = genes
    adata.obs_names = [f"cell{i}" for i in range(n_cells)]
    return adata


def cells_per_second(encoder: ScgptEncoder, adata: AnnData) -> float:
    """Embed ``adata`` (after one warm-up cell) and return cells per second."""
    encoder.embed(adata[:1])
    start = time.perf_counter()
    encoder.embed(adata, batch_size=64)
    return adata.n_obs / (time.perf_counter() - start)


@torch.no_grad()
def perturbed_forwards(encoder: ScgptEncoder, adata: AnnData, n_variants: int) -> tuple[float, float]:
    """Forwards per second for ``n_variants`` masked variants of one cell: batched, then one call each."""
    x = torch.as_tensor(encoder.expression(adata[:1]).toarray())
    context = torch.as_tensor(encoder.context(adata[:1]))
    expressed = torch.nonzero(x[0]).flatten()[:n_variants]
    variants = x.repeat(len(expressed), 1)
    variants[torch.arange(len(expressed)), expressed] = 0
    encoder.encode(variants[:2], context.repeat(2))
    start = time.perf_counter()
    batched = encoder.encode(variants, context.repeat(len(variants)))
    batched_rate = len(variants) / (time.perf_counter() - start)
    start = time.perf_counter()
    single = torch.cat([encoder.encode(v[None], context) for v in variants])
    single_rate = len(variants) / (time.perf_counter() - start)
    if not torch.allclose(batched, single, atol=1e-4):
        raise AssertionError("batched and one-at-a-time perturbed embeddings differ")
    return batched_rate, single_rate


def _run(device: str, genes: list[str], folder: Path, quick: bool) -> None:
    settings = {300: 6 if quick else 24, 1200: 2 if quick else 6}
    for n_expressed, n_cells in settings.items():
        adata = synthetic_cells(genes, n_cells, n_expressed)
        encoder = build_scgpt(adata, checkpoint=folder, device=device, min_fraction=0.0)
        rate = cells_per_second(encoder, adata)
        logger.info("scgpt full size, %s, %d genes/cell: %.2f cells/s", device, n_expressed, rate)
        print(f"scgpt full size [{device}] {n_expressed} genes/cell: {rate:.2f} cells/s ({n_cells} cells)")
    adata = synthetic_cells(genes, 1, 300, seed=1)
    encoder = build_scgpt(adata, checkpoint=folder, device=device, min_fraction=0.0)
    batched, single = perturbed_forwards(encoder, adata, 8 if quick else 24)
    print(
        f"scgpt full size [{device}] perturbed forwards, 300 genes/cell: batched {batched:.2f}/s, "
        f"one at a time {single:.2f}/s, ratio {batched / single:.2f}x"
    )
    if device == "cpu":
        # control: with one thread there is no thread synchronisation for batching to amortise
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        batched, single = perturbed_forwards(encoder, adata, 4 if quick else 12)
        torch.set_num_threads(threads)
        print(
            f"scgpt full size [cpu, 1 thread] perturbed forwards: batched {batched:.2f}/s, "
            f"one at a time {single:.2f}/s, ratio {batched / single:.2f}x"
        )


def main(quick: bool = False) -> None:
    """Measure and print the figures (2 CPU threads; and the GPU when one is present)."""
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        genes = write_full_size_checkpoint(folder)
        print(f"scgpt full-size checkpoint written in {time.perf_counter() - start:.1f} s")
        _run("cpu", genes, folder, quick)
        if torch.cuda.is_available():
            _run("cuda", genes, folder, quick)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    main(quick="quick" in sys.argv[1:])
