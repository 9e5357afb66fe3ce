"""Steering on the FACS-sorted PBMC: switching off each sorted type's concept in its cells, beside matched nulls.

For each sorted type, the concept whose activation marks it best (AUROC, as in ``bench_explanations``) is
switched off in that type's cells with :func:`scconcepts.tl.steer` (scVI decoder). Figures:
- wall time of the steer (20 random directions, no enrichment);
- the type's canonical markers: mean log2 fold change and median rank among the decoded genes (1 = most lowered);
- share of the cells' 15 embedding neighbours of that type, before and after;
- the same three figures for 100 random directions and for every other concept's atom removed, each with every
  cell's shift norm (the chance levels), with the share of null draws at least as extreme as the real one.
Run ``SCCONCEPTS_BENCH_RUN=DIR python -m benchmarks steering`` on an ``scconcepts run`` folder of pbmc_sorted
(e.g. ``results/demo``), or without it to run the demo pipeline in a temporary folder first.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

N_RANDOM = 100


def _run_folder() -> Path:
    given = os.environ.get("SCCONCEPTS_BENCH_RUN")
    if given:
        return Path(given)
    from scconcepts.cli import main as cli

    folder = Path(tempfile.mkdtemp(prefix="bench_steering_")) / "run"
    start = time.perf_counter()
    if cli(["run", "--dataset", "pbmc_sorted", "--out", str(folder)]) != 0:
        raise RuntimeError("the demo run failed")
    logger.info("demo run: %.0f s", time.perf_counter() - start)
    return folder


def main() -> None:
    """Print the steering figures of every sorted type with their chance levels."""
    from benchmarks.bench_explanations import MARKERS, best_concepts
    from scconcepts import tl
    from scconcepts.models import load_encoder
    from scconcepts.results import read_results
    from scconcepts.sae import load_sae
    from scconcepts.stats import paired_log_test, random_directions
    from scconcepts.steering._landing import Neighbourhood
    from scconcepts.tl._steer import steer_embedding

    folder = _run_folder()
    adata = read_results(folder)
    encoder, sae = load_encoder(folder / "model"), load_sae(folder / "sae")
    use_rep = adata.uns["concepts"]["params"]["use_rep"]
    embedding = np.asarray(adata.obsm[use_rep], dtype=np.float32)
    types = adata.obs["cell_type"].astype(str).to_numpy()
    hood = Neighbourhood(embedding)
    atoms = sae.W_dec.detach().numpy() * float(sae.scale)
    logger.info("load average %s (2 shared cores)", " ".join(f"{x:.1f}" for x in os.getloadavg()))
    for cell_type, (concept, auc) in best_concepts(adata.obsm["X_concepts"], types).items():
        rows = np.flatnonzero(types == cell_type)
        cells = adata[rows]
        markers = [encoder.genes.index(g) for g in MARKERS[cell_type] if g in encoder.genes]
        before = encoder.decode_expression(embedding[rows], cells)

        def figures(
            steered: np.ndarray, rows=rows, cells=cells, markers=markers, before=before, cell_type=cell_type
        ) -> np.ndarray:
            lfc = paired_log_test(before, encoder.decode_expression(steered, cells),
                                  pseudo_count=encoder.decode_pseudo_count).lfc  # fmt: skip
            rank = np.argsort(np.argsort(lfc))[markers] + 1
            same = (types[hood.query(steered, rows)] == cell_type).mean()
            return np.array([lfc[markers].mean() if markers else np.nan, np.median(rank) if markers else np.nan, same])

        start = time.perf_counter()
        tl.steer(adata, concept=concept, value="off", cells=cell_type, encoder=encoder, sae=sae, enrich=False)
        elapsed = time.perf_counter() - start
        steered, _, _ = steer_embedding(sae, embedding[rows], concept, "off")
        shift = steered - embedding[rows]
        if not np.linalg.norm(shift, axis=1).any():
            logger.info("%s: concept %d is not active in its cells; skipped", cell_type, concept)
            continue
        real = figures(steered)
        base = (types[hood.query(embedding[rows], rows)] == cell_type).mean()
        rand = np.array([figures(embedding[rows] + d) for d in random_directions(shift, N_RANDOM, seed=0)])
        norms = np.linalg.norm(shift, axis=1)[:, None]
        other = np.array([figures(embedding[rows] - norms * (atoms[c] / np.linalg.norm(atoms[c]))[None, :])
                          for c in range(sae.n_latents) if c != concept])  # fmt: skip
        logger.info(
            "%s: concept %d (AUROC %.2f) off in %d cells, %.1f s | markers %s: mean lfc %+.2f (random %+.2f, "
            "P %.3f; other atoms %+.2f, P %.3f), median rank %.0f of %d (random %.0f, P %.3f; other atoms %.0f, "
            "P %.3f) | own-type neighbours %.1f%% -> %.1f%% (random %.1f%%, P %.3f; other atoms %.1f%%, P %.3f)",
            cell_type, concept, auc, len(rows), elapsed, ",".join(MARKERS[cell_type]), real[0], rand[:, 0].mean(),
            (rand[:, 0] <= real[0]).mean(), other[:, 0].mean(), (other[:, 0] <= real[0]).mean(), real[1],
            len(encoder.genes), np.median(rand[:, 1]), (rand[:, 1] <= real[1]).mean(), np.median(other[:, 1]),
            (other[:, 1] <= real[1]).mean(), 100 * base, 100 * real[2], 100 * rand[:, 2].mean(),
            (rand[:, 2] <= real[2]).mean(), 100 * other[:, 2].mean(), (other[:, 2] <= real[2]).mean(),
        )  # fmt: skip
