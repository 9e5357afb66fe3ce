"""Enrichment speed: 500 concepts x GO BP (sets of 15-500 genes), one run.

Figures:
- ``ulm`` statistic over all concepts at once (scconcepts' sparse form) and decoupler's own
  ``dc.mt.ulm`` on the same input, for reference;
- full ``ulm`` pass (statistic + BH + elim over the GO DAG + table), full ``ora`` pass;
- per-concept multilevel GSEA (gseapy prerank): median per concept on a few concepts, and the
  projected time for all 500 (labelled as projected);
- one gseapy permutation prerank (1000 permutations) on one concept, for scale (run on the first
  1000 terms and projected linearly to all terms, labelled as projected);
- peak resident memory after the scconcepts passes and after decoupler's dense ulm.

Scores are synthetic: a background of GO-annotated genes, each concept with a planted GO term on
top of noise. Uses ``go_bp`` when the GO SQLite files are installed, else the bundled GO BP 2023.
Run with ``python -m benchmarks enrichment``.
"""

from __future__ import annotations

import logging
import time

import numpy as np

logger = logging.getLogger(__name__)

N_THREADS = 2
N_CONCEPTS = 500
N_GENES = 15_000
N_GSEA = 4
N_PERM_TERMS = 1000


def _data(seed: int = 0):
    from scconcepts.genesets import bundled_library, go_bp, go_db_available

    sets = go_bp() if go_db_available() else bundled_library("GO_Biological_Process_2023")
    rng = np.random.default_rng(seed)
    genes = sorted(sets.members())
    genes = list(rng.choice(genes, min(N_GENES, len(genes)), replace=False))
    membership, kept = sets.membership(genes)
    scores = rng.normal(scale=0.1, size=(N_CONCEPTS, len(genes)))
    planted = rng.integers(0, kept.size, N_CONCEPTS)
    for c, j in enumerate(planted):
        rows = membership[:, j].indices
        scores[c, rows[: max(5, rows.size // 2)]] += 0.5
    return sets, genes, scores, membership, kept


def _peak_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main(quick: bool = False) -> None:
    """Log enrichment timings (seconds) for ulm, decoupler ulm, ora, multilevel GSEA and permutation GSEA."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=N_THREADS):
        _run(quick)


def _run(quick: bool) -> None:
    import pandas as pd

    from scconcepts.genesets import EnrichOptions, UlmState, enrich_scores, prerank, set_rows, ulm

    sets, genes, scores, membership, kept = _data()
    n_terms = kept.size
    logger.info("source %s: %d concepts x %d genes x %d terms (15-500 genes)", sets.source, *scores.shape, n_terms)
    concepts = list(range(N_CONCEPTS))

    t_stat, _ = _timed(lambda: ulm(UlmState.of(scores), membership))
    logger.info("ulm statistic, all concepts at once: %.2f s", t_stat)
    opts = EnrichOptions(method="ulm")
    t_ulm, table = _timed(
        lambda: enrich_scores(scores, sets, gene_keys=genes, gene_names=genes, concepts=concepts, opts=opts)
    )
    logger.info("ulm full pass (stat + BH + elim + table): %.2f s, %d rows (target <= 10 s)", t_ulm, len(table))
    selected = scores > 0.3
    t_ora, _ = _timed(
        lambda: enrich_scores(
            scores,
            sets,
            gene_keys=genes,
            gene_names=genes,
            concepts=concepts,
            opts=EnrichOptions(method="ora"),
            selected=selected,
        )
    )
    logger.info("ora full pass (%.0f selected genes per concept): %.2f s", selected.sum(axis=1).mean(), t_ora)
    logger.info("peak RSS so far (data + ulm + ora): %.0f MiB", _peak_mib())

    import decoupler as dc

    net = pd.DataFrame(
        [(sets.term_ids[k], genes[r]) for j, k in enumerate(kept) for r in membership[:, j].indices],
        columns=["source", "target"],
    )
    net["weight"] = 1.0
    t_dc, _ = _timed(lambda: dc.mt.ulm(pd.DataFrame(scores, columns=genes), net, tmin=15))
    logger.info("decoupler dc.mt.ulm on the same input: %.2f s (%.1fx the sparse form); peak RSS %.0f MiB", t_dc,
                t_dc / t_stat, _peak_mib())  # fmt: skip

    rows = set_rows(membership)
    named = {sets.term_ids[k]: [genes[r] for r in rows[j]] for j, k in enumerate(kept)}
    per = []
    for c in range(1 if quick else N_GSEA):
        seconds, _ = _timed(lambda c=c: prerank(scores[c], genes, named, method="multilevel", threads=N_THREADS))
        per.append(seconds)
    median = float(np.median(per))
    logger.info(
        "multilevel GSEA: median %.1f s per concept over %d concepts; projected %.0f s (%.1f min) for %d concepts",
        median, len(per), median * N_CONCEPTS, median * N_CONCEPTS / 60, N_CONCEPTS,
    )  # fmt: skip
    if not quick:
        subset = dict(list(named.items())[:N_PERM_TERMS])
        seconds, _ = _timed(
            lambda: prerank(scores[0], genes, subset, method="permutation", permutation_num=1000, threads=N_THREADS)
        )
        full = seconds * len(named) / len(subset)
        logger.info(
            "permutation GSEA (1000 permutations), one concept: %.1f s on %d terms; projected %.0f s on all %d terms, "
            "%.1f h for %d concepts", seconds, len(subset), full, len(named), full * N_CONCEPTS / 3600, N_CONCEPTS,
        )  # fmt: skip
    logger.info(
        "ulm full pass vs projected multilevel GSEA over all concepts: %.0fx faster", median * N_CONCEPTS / t_ulm
    )


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    main()
