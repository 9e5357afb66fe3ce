"""Wall time of the evaluation (3 seeds, baselines, sweep) on pbmc68k with scVI, and its table of figures."""

from __future__ import annotations

import logging
import time

logger = logging.getLogger("benchmarks.evaluation")

SEEDS = (0, 1, 2)


def main() -> None:
    """Embed pbmc68k with scVI, train the run's SAE, then time ``tl.evaluate`` over three seeds and print its table."""
    import pandas as pd
    import torch

    from scconcepts import ds, tl

    adata = ds.pbmc68k()
    start = time.perf_counter()
    tl.embed(adata, model="scvi")
    tl.train_sae(adata, use_rep="X_scvi")
    logger.info("scVI + SAE run: %.0f s", time.perf_counter() - start)
    start = time.perf_counter()
    result = tl.evaluate(adata, seeds=SEEDS)
    seconds = time.perf_counter() - start
    logger.info(
        "evaluate (%d seeds, 5 baselines, sweep of %d SAEs) on %d torch threads: %.0f s (target: 600 s)",
        len(SEEDS),
        len(result["sweep"]),
        torch.get_num_threads(),
        seconds,
    )
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(result["table"].round(3).to_string())
        print(pd.DataFrame(result["stability"]).T.round(3).to_string())
        print(result["sweep"].round(3).to_string())
