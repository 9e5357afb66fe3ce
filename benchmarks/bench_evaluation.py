"""Wall time of the full evaluation on pbmc68k with scVI (3 seeds, baselines, GO grounding, stability across
seeds and against immune_sample, sweep), as ``scconcepts evaluate DIR --cross-dataset immune_sample`` runs it,
and its table of figures."""

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
    encoder = tl.embed(adata, model="scvi")
    tl.train_sae(adata, use_rep="X_scvi")
    logger.info("scVI + SAE run: %.0f s", time.perf_counter() - start)
    start = time.perf_counter()
    other = ds.immune_sample()
    result = tl.evaluate(adata, seeds=SEEDS, encoder=encoder, other=other, other_name="immune_sample")
    seconds = time.perf_counter() - start
    logger.info(
        "evaluate (%d seeds, 5 baselines, grounding, cross-dataset, sweep of %d SAEs) on %d torch threads: "
        "%.0f s (target: 600 s)",
        len(SEEDS),
        len(result["sweep"]),
        torch.get_num_threads(),
        seconds,
    )
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(result["table"].round(3).to_string())
        print(pd.DataFrame(result["stability"]).T.round(3).to_string())
        print("across datasets (immune_sample):")
        print(pd.DataFrame(result["cross_dataset"]["methods"]).T.round(3).to_string())
        print(result["sweep"].round(3).to_string())
