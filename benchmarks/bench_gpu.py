"""GPU figures: scGPT at full size, attribution through it, and SAE training (``python -m benchmarks gpu``).

Prints, on the first CUDA device (and says so and stops when there is none):
- scGPT with the whole-human checkpoint's shapes (random weights): perturbed forwards per second for the
  variants of one cell (one gene masked each), one call per variant against all variants in one batch;
- attribution wall time of 100 cells x 1,000 genes (every expressed gene masked and re-encoded through
  scGPT and a Top-K SAE, the exact engine);
- SAE training samples per second at d=512, expansion 8, k=32, batch 4,096 (sparse and dense backward).
Matmuls run in TF32 where the card has it (``torch.set_float32_matmul_precision("high")``).
"""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path
from statistics import median

import numpy as np
import torch

from benchmarks.bench_token_models import synthetic_cells, write_full_size_checkpoint

logger = logging.getLogger("benchmarks.gpu")

N_CELLS, N_GENES_PER_CELL = 100, 1000
D_IN, EXPANSION, K, BATCH = 512, 8, 32, 4096


def _synchronised() -> float:
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter()


@torch.no_grad()
def perturbed_forward_rates(encoder, adata, n_variants: int) -> tuple[float, float]:
    """Forwards per second for masked variants of one cell: one call each, then all in one batch."""
    x = torch.as_tensor(encoder.expression(adata[:1]).toarray())
    context = torch.as_tensor(encoder.context(adata[:1]))
    expressed = torch.nonzero(x[0]).flatten()[:n_variants]
    variants = x.repeat(len(expressed), 1)
    variants[torch.arange(len(expressed)), expressed] = 0
    encoder.encode(variants[:8], context.repeat(8))  # warm-up
    start = _synchronised()
    single = torch.cat([encoder.encode(v[None], context) for v in variants])
    single_rate = len(variants) / (_synchronised() - start)
    start = _synchronised()
    batched = encoder.encode(variants, context.repeat(len(variants)))
    batched_rate = len(variants) / (_synchronised() - start)
    difference = float((batched.cpu() - single.cpu()).abs().max())
    logger.info("batched vs one-at-a-time embeddings differ by at most %.2e", difference)
    return single_rate, batched_rate


def attribution_seconds(encoder, adata) -> tuple[float, int]:
    """Wall time of attributing one SAE's concepts over ``adata``'s cells (every expressed gene masked)."""
    from scconcepts.attribution import GeneStatistics, get_strategy, run_attribution
    from scconcepts.sae import TopKSAE

    x = encoder.expression(adata)
    context = encoder.context(adata)
    embedding = encoder.embed(adata, batch_size=32)
    torch.manual_seed(0)
    sae = TopKSAE(embedding.shape[1], 4 * embedding.shape[1], 16, inference="encoder").to(encoder.device)
    sae.mean.copy_(torch.as_tensor(embedding.mean(axis=0), device=encoder.device))
    with torch.no_grad():
        activations = sae.encode(torch.as_tensor(embedding, device=encoder.device)).cpu().numpy()
    concepts = np.flatnonzero((activations > 0).any(axis=0))  # every concept that fires: all cells perturbed
    chosen = [np.flatnonzero(activations[:, c] > 0) for c in concepts]
    start = _synchronised()
    result = run_attribution(
        encoder,
        sae.encode,
        x,
        context,
        concepts,
        chosen,
        strategy=get_strategy("mask"),
        stats=GeneStatistics.from_expression(x, quantile=0.95),
        engine="exact",
        batch_size=256,
        progress=False,
    )
    return _synchronised() - start, int(result.n_forwards)


def engines_cuda_vs_cpu(devices: tuple[str, str] = ("cpu", "cuda")) -> dict[str, float]:
    """Largest |score difference| between two devices for every engine and the mask/counterfactual strategies."""
    import scipy.sparse as sp

    from scconcepts.attribution import (
        ENGINES,
        GeneStatistics,
        counterfactual_neighbours,
        get_strategy,
        run_attribution,
        select_cells,
    )
    from scconcepts.models import TorchEncoder
    from scconcepts.sae import TopKSAE

    rng = np.random.default_rng(0)
    x = sp.csr_matrix(rng.poisson(0.7, (200, 120)).astype(np.float32))
    genes = [f"g{i}" for i in range(120)]
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(120, 32), torch.nn.Tanh(), torch.nn.Linear(32, 8))
    sae = TopKSAE(8, 32, 4, inference="pursuit")
    stats = GeneStatistics.from_expression(x, quantile=0.95)
    differences = {}
    for method in ("mask", "counterfactual"):
        for engine in ENGINES:
            scores: dict[int, np.ndarray] = {}
            for device in devices:
                encoder = TorchEncoder(module, genes, device=device)
                model = sae.to(device)
                embedding = encoder.embed_rows(x, None)
                with torch.no_grad():
                    activations = sp.csr_matrix(model.encode(torch.as_tensor(embedding, device=device)).cpu().numpy())
                concepts = np.flatnonzero(activations.getnnz(axis=0) >= 5)[:6]
                chosen = select_cells(activations, concepts, n_cells=20)
                neighbours = counterfactual_neighbours(embedding, activations, concepts, chosen)
                result = run_attribution(
                    encoder, model.encode, x, None, concepts, chosen, strategy=get_strategy(method), stats=stats,
                    neighbours=neighbours, engine=engine, progress=False,
                )  # fmt: skip
                scores[len(scores)] = np.asarray(result.score)
            differences[f"{method}/{engine}"] = float(np.abs(scores[0] - scores[1]).max())
    return differences


def sae_training_rates(device: str, repeats: int = 20) -> dict[str, float]:
    """Median samples per second of one SAE training step, sparse and dense decoder backward."""
    from scconcepts.sae import TopKSAE

    torch.manual_seed(0)
    x = torch.randn(BATCH, D_IN, device=device)
    rates = {}
    for sparse in (True, False):
        torch.manual_seed(0)
        sae = TopKSAE(D_IN, EXPANSION * D_IN, K).to(device)
        optimizer = torch.optim.Adam(sae.parameters(), lr=1e-3)
        times = []
        for repeat in range(repeats + 3):
            start = _synchronised()
            values, indices = sae.select(x, sparse=sparse)
            loss = (sae.reconstruct(values, indices, sparse=sparse) - x).pow(2).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            sae.project_decoder_grad()
            optimizer.step()
            sae.normalise_decoder()
            if repeat >= 3:
                times.append(_synchronised() - start)
        rates["sparse" if sparse else "dense"] = BATCH / median(times)
    return rates


def main() -> None:
    """Measure and print the GPU figures."""
    if not torch.cuda.is_available():
        logger.info("no CUDA device: the GPU benchmark has nothing to measure here")
        return
    from scconcepts.models._scgpt import build_scgpt

    logger.info("device: %s, torch %s", torch.cuda.get_device_name(0), torch.__version__)
    for name, difference in engines_cuda_vs_cpu().items():
        logger.info("attribution %s: CUDA vs CPU scores differ by at most %.2e", name, difference)
    torch.set_float32_matmul_precision("high")
    rates = sae_training_rates("cuda")
    logger.info(
        "SAE training d=%d x%d k=%d batch %d: sparse backward %.0f samples/s, dense %.0f samples/s",
        D_IN, EXPANSION, K, BATCH, rates["sparse"], rates["dense"],
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        genes = write_full_size_checkpoint(Path(tmp))
        for n_expressed in (300, 1200):
            one = synthetic_cells(genes, 1, n_expressed, seed=1)
            encoder = build_scgpt(one, checkpoint=tmp, device="cuda", min_fraction=0.0)
            single, batched = perturbed_forward_rates(encoder, one, 256)
            logger.info(
                "scGPT full size, %d genes/cell, 256 masked variants: one at a time %.1f forwards/s, "
                "batched %.1f forwards/s (%.1fx)", n_expressed, single, batched, batched / single,
            )  # fmt: skip
        cells = synthetic_cells(genes, N_CELLS, N_GENES_PER_CELL, seed=2)
        encoder = build_scgpt(cells, checkpoint=tmp, device="cuda", min_fraction=0.0)
        seconds, n_rows = attribution_seconds(encoder, cells)
        logger.info(
            "attribution, %d cells x %d expressed genes (%d perturbed forwards, every firing concept, exact engine): "
            "%.1f s (%.0f forwards/s)", N_CELLS, N_GENES_PER_CELL, n_rows, seconds, n_rows / seconds,
        )  # fmt: skip
