"""Wall and CPU time of the full evaluation on the sorted PBMC (the demo's data) with scVI.

Three seeds, baselines, GO grounding against random directions, explanation score, stability across seeds and
against immune_sample, sweep, as ``scconcepts evaluate DIR --cross-dataset immune_sample`` runs it, and its table
(each interpretability figure beside its chance level). CPU time is printed beside wall time because the shared
machine is often loaded: on a free machine the single-threaded evaluation takes about its CPU time.
"""

from __future__ import annotations

import logging
import os
import time

logger = logging.getLogger("benchmarks.evaluation")

SEEDS = (0, 1, 2)


def main() -> None:
    """Embed the sorted PBMC with scVI, train the run's SAE, time ``tl.evaluate`` over three seeds, print its table."""
    import pandas as pd
    import torch

    from scconcepts import ds, tl

    adata = ds.pbmc_sorted()
    start = time.perf_counter()
    encoder = tl.embed(adata, model="scvi")
    tl.train_sae(adata, use_rep="X_scvi")
    logger.info("scVI + SAE run: %.0f s", time.perf_counter() - start)
    start, cpu = time.perf_counter(), time.process_time()
    other = ds.immune_sample()
    result = tl.evaluate(adata, seeds=SEEDS, encoder=encoder, other=other, other_name="immune_sample")
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    logger.info(
        "evaluate (%d seeds, 5 baselines, grounding against random directions, explanation score, cross-dataset, "
        "sweep of %d SAEs) on %d torch threads: %.0f s wall, %.0f s CPU, load average %.1f on %d cores "
        "(target: 600 s)",
        len(SEEDS),
        len(result["sweep"]),
        torch.get_num_threads(),
        seconds,
        cpu,
        os.getloadavg()[0],
        os.cpu_count(),
    )
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(result["table"].round(3).to_string())
        print(pd.DataFrame(result["stability"]).T.round(3).to_string())
        print("across datasets (immune_sample):")
        print(pd.DataFrame(result["cross_dataset"]["methods"]).T.round(3).to_string())
        print(result["sweep"].round(3).to_string())
