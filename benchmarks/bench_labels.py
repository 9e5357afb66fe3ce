"""Concept labels on a real run: how distinct they are, against the p-value-only rule and against chance.

Figures (on ``$SCCONCEPTS_BENCH_FOLDER``, a results folder; by default ``scconcepts run --dataset
pbmc_sorted`` is run into a temporary folder first, which takes minutes):

- the run re-enriched and relabelled with this version; every label; distinct labels and distinct label
  terms; the share of live concepts carrying the most common label term (issue target: at most 20%);
  concepts flagged ``duplicate_of``; median ``redundancy``;
- the same share when each concept takes its lowest-p term (the rule before specificity weighting);
- chance, 3 times: each concept's attribution (scores and adjusted p-values together) permuted over the
  genes, then enriched and labelled the same way: concepts with a term and the most common label term's share.

Run with ``python -m benchmarks labels``.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

logger = logging.getLogger("benchmarks.labels")


def _share_of_most_common(terms: pd.Series, n_alive: int) -> tuple[str, int, float]:
    counts = terms[terms != ""].value_counts()
    if not len(counts):
        return "", 0, 0.0
    return str(counts.index[0]), int(counts.iat[0]), counts.iat[0] / max(n_alive, 1)


def _lowest_p_terms(table: pd.DataFrame) -> pd.Series:
    from scconcepts.genesets import concept_terms

    terms = concept_terms(table)
    return terms.sort_values(["concept", "pval"]).groupby("concept")["term"].first()


def _summarise(name: str, adata) -> tuple[pd.DataFrame, int]:
    from scconcepts.genesets import coverage_line, term_coverage

    table = adata.uns["concepts"]["table"]
    alive = table[table["cell_types"] != "dead"]
    term, count, share = _share_of_most_common(alive["top_term"], len(alive))
    enrichment = pd.DataFrame(adata.uns["concepts_enrichment"])
    concepts = [int(c) for c in np.asarray(adata.uns["concepts"]["enrichment_params"]["concepts"]).ravel()]
    logger.info("%s: %s", name, coverage_line(term_coverage(enrichment, concepts)))
    logger.info(
        "%s: %d live concepts, %d distinct labels, %d distinct label terms; most common label term %r in %d (%.0f%%)",
        name,
        len(alive),
        alive["label"].nunique(),
        alive.loc[alive["top_term"] != "", "top_term"].nunique(),
        term,
        count,
        100 * share,
    )
    logger.info(
        "%s: %d flagged duplicate_of; redundancy (largest attribution-profile cosine) median %.2f, max %.2f",
        name,
        int((alive["duplicate_of"] != "").sum()),
        float(np.nanmedian(alive["redundancy"])) if len(alive) else float("nan"),
        float(np.nanmax(alive["redundancy"])) if len(alive) else float("nan"),
    )
    return enrichment, len(alive)


def _permuted(adata, seed: int = 0):
    """A copy whose every concept's attribution (scores with their adjusted p) is permuted over the genes."""
    from scconcepts._keys import attribution_key, attribution_padj_key

    out = adata.copy()
    rng = np.random.default_rng(seed)
    scores = np.asarray(out.varm[attribution_key()], dtype=np.float64).copy()
    padj = out.varm.get(attribution_padj_key())
    padj = None if padj is None else np.asarray(padj, dtype=np.float64).copy()
    read = np.isfinite(scores).any(axis=1)
    rows = np.flatnonzero(read)
    for c in range(scores.shape[1]):
        order = rng.permutation(rows)
        scores[rows, c] = scores[order, c]
        if padj is not None:
            padj[rows, c] = padj[order, c]
    out.varm[attribution_key()] = scores
    if padj is not None:
        out.varm[attribution_padj_key()] = padj
    for key in ("concepts_de",):  # the chance run enriches the permuted attribution only
        out.varm.pop(key, None)
    return out


def _folder() -> tuple[Path, tempfile.TemporaryDirectory | None]:
    given = os.environ.get("SCCONCEPTS_BENCH_FOLDER")
    if given:
        return Path(given), None
    tmp = tempfile.TemporaryDirectory()
    out = Path(tmp.name) / "demo"
    logger.info("running scconcepts run --dataset pbmc_sorted into %s (minutes)", out)
    subprocess.run([sys.executable, "-m", "scconcepts.cli", "run", "--dataset", "pbmc_sorted", "--out", str(out)],
                   check=True, capture_output=True)  # fmt: skip
    return out, tmp


def main() -> None:
    """Log the figures."""
    from scconcepts import tl
    from scconcepts.results import read_results

    folder, tmp = _folder()
    try:
        adata = read_results(folder)
        logger.info("folder %s; load average %s", folder, " ".join(f"{x:.1f}" for x in os.getloadavg()))
        tl.enrich(adata)  # with this version's enrichment, as the chance arm below
        tl.label_concepts(adata)
        enrichment, n_alive = _summarise("run", adata)
        table = adata.uns["concepts"]["table"]
        for cid, row in table.iterrows():
            dup, red = row["duplicate_of"] or "-", row["redundancy"]
            logger.info("  %3s  %-95s dup=%s red=%.2f", cid, row["label"], dup, red)
        lowest = _lowest_p_terms(enrichment)
        term, count, share = _share_of_most_common(lowest, n_alive)
        logger.info("lowest-p rule on the same terms: most common %r in %d (%.0f%%), %d distinct", term, count,
                    100 * share, lowest.nunique())  # fmt: skip
        for seed in range(3):
            null = _permuted(adata, seed=seed)
            tl.enrich(null, rankings=["attribution"])
            tl.label_concepts(null)
            _summarise(f"chance {seed} (attribution permuted over genes)", null)
    finally:
        if tmp is not None:
            tmp.cleanup()
