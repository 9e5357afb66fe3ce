"""Explanations on the FACS-sorted PBMC at the demo defaults: are the top genes specific, are the markers found?

Figures, each with its chance level (what a random ranking of the same tested genes gives):
- wall time of ``scconcepts run --dataset pbmc_sorted --model scvi`` (the ``make demo`` command) when this
  benchmark runs it;
- per attribution method (``baseline``, the default; ``mean``; ``mask``; ``counterfactual``, the paper's):
  attribution wall time for all concepts; share of housekeeping genes (RPS*/RPL*/MT-*/MALAT1/B2M/ACTB/FTL/FTH1)
  among every concept's top-10 genes; median over concepts of Spearman(|score|, the gene's mean expression) over the
  tested genes; median share of tested genes called significant (BH 5%); for each sorted type the concept
  whose activation marks it best (AUROC) and the ranks of its canonical markers; each for the specific score
  (the default ranking) and the raw causal effect, and the Wilcoxon DE of active vs inactive cells beside them;
- faithfulness of the default ranking: for each sorted type's best concept, how much its activation in its chosen
  cells falls when a gene set is set to the concept's baseline (the mean over its non-activating cells) all at once:
  its top-10 attributed genes, its type's canonical markers, its top-10 DE genes, and (chance) 10 random genes
  expressed in most of those cells. A ranking that finds what the model reads lowers the concept most;
- share of concepts carrying the most common label term (the run's labels).

Run ``python -m benchmarks explanations`` (runs the demo pipeline in a temporary folder first) or
``SCCONCEPTS_BENCH_RUN=DIR python -m benchmarks explanations`` to measure an existing ``scconcepts run`` folder
of pbmc_sorted (e.g. ``results/demo``).
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy import stats

logger = logging.getLogger(__name__)

N_THREADS = 2
TOP = 10
METHODS = ("baseline", "mean", "mask", "counterfactual")
HOUSEKEEPING = re.compile(r"^(RPS|RPL|MT-)|^(MALAT1|B2M|ACTB|FTL|FTH1)$")
#: Canonical markers of each sorted type (obs["cell_type"] of ``ds.pbmc_sorted()``).
MARKERS = {
    "B": ["CD79A", "CD79B", "MS4A1", "CD19"],
    "NK": ["GNLY", "NKG7", "KLRD1", "PRF1"],
    "Monocyte": ["LYZ", "CD14", "S100A8", "S100A9", "FCN1"],
    "CD8TN": ["CD8A", "CD8B"],
    "CD4TN": ["CCR7", "SELL", "LEF1", "TCF7"],
    "CD4Treg": ["IL2RA", "CTLA4", "FOXP3"],
    "CD4TCM": ["IL7R", "S100A4"],
}
#: Done-when targets of issue 11: markers of the best concept in its top-10.
MARKER_TARGETS = {"NK": 3, "B": 3, "Monocyte": 3, "CD8TN": 1, "CD4TN": 1}


@dataclass
class Figures:
    """Explanation figures of one genes x concepts score matrix, with their chance levels."""

    housekeeping: float
    housekeeping_chance: float
    spearman: float
    spearman_chance: float
    markers: dict[str, tuple[int, list[int | None], float]]  # type -> (markers in top-10, ranks, chance)


def auroc(score: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve of ``score`` separating ``positive`` cells (ties count half)."""
    ranks = stats.rankdata(score)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def best_concepts(activations: sp.spmatrix, cell_types: np.ndarray) -> dict[str, tuple[int, float]]:
    """For each sorted type, the concept whose activation separates it best from the other cells (AUROC)."""
    dense = np.asarray(sp.csc_matrix(activations).todense())
    best = {}
    for cell_type in MARKERS:
        positive = cell_types == cell_type
        if positive.any():
            values = [auroc(dense[:, k], positive) for k in range(dense.shape[1])]
            best[cell_type] = (int(np.argmax(values)), float(np.max(values)))
    return best


def explanation_figures(
    score: np.ndarray,
    tested: np.ndarray,
    genes: np.ndarray,
    mean_expression: np.ndarray,
    best: dict[str, tuple[int, float]],
    rng: np.random.Generator,
) -> Figures:
    """Housekeeping share of top-10s, Spearman with expression and marker ranks of ``score`` (genes x concepts)."""
    housekeeping = np.array([bool(HOUSEKEEPING.search(g)) for g in genes])
    ranked = np.where(tested, score, -np.inf)
    shares, chance_shares, rhos, chance_rhos = [], [], [], []
    for k in range(score.shape[1]):
        rows = np.flatnonzero(tested[:, k])
        if rows.size < TOP:
            continue
        top = np.argsort(-ranked[:, k], kind="stable")[:TOP]
        shares.append(housekeeping[top].mean())
        chance_shares.append(housekeeping[rows].mean())
        values = np.abs(score[rows, k])
        if np.ptp(values) > 0:
            rhos.append(stats.spearmanr(values, mean_expression[rows]).statistic)
            chance_rhos.append(stats.spearmanr(rng.permutation(values), mean_expression[rows]).statistic)
    markers = {}
    for cell_type, (k, _) in best.items():
        order = np.argsort(-ranked[:, k], kind="stable")
        rank = {genes[g]: r + 1 for r, g in enumerate(order) if tested[g, k]}
        ranks = [rank.get(m) for m in MARKERS[cell_type]]
        n_tested = max(int(tested[:, k].sum()), 1)
        chance = sum(r is not None for r in ranks) * min(TOP, n_tested) / n_tested
        markers[cell_type] = (sum(r is not None and r <= TOP for r in ranks), ranks, chance)
    return Figures(
        housekeeping=float(np.mean(shares)),
        housekeeping_chance=float(np.mean(chance_shares)),
        spearman=float(np.median(rhos)),
        spearman_chance=float(np.median(chance_rhos)),
        markers=markers,
    )


def _print_figures(name: str, figures: Figures) -> None:
    logger.info(
        "[explanations] %s: housekeeping share of top-%d %.0f%% (random top-%d: %.0f%%; target <= 10%%); "
        "median Spearman(|score|, mean expression) %+.2f (random scores: %+.2f; target <= 0.2)",
        name, TOP, 100 * figures.housekeeping, TOP, 100 * figures.housekeeping_chance,
        figures.spearman, figures.spearman_chance,
    )  # fmt: skip
    parts = []
    for cell_type, (n_top, ranks, chance) in figures.markers.items():
        target = MARKER_TARGETS.get(cell_type)
        mark = "" if target is None else (" ok" if n_top >= target else f" <{target}")
        shown = ",".join("-" if r is None else str(r) for r in ranks)
        parts.append(f"{cell_type} {n_top}/{len(ranks)}{mark} (ranks {shown}; chance {chance:.2f})")
    logger.info("[explanations] %s: markers in the best concept's top-%d: %s", name, TOP, "; ".join(parts))


def _print_deletions(encoder, sae, adata, genes: np.ndarray, score: np.ndarray, de: np.ndarray, best) -> None:
    from scconcepts.evaluation import deletion_fall

    x = sp.csr_matrix(encoder.expression(adata), dtype=np.float32)
    activations = sp.csr_matrix(adata.obsm["X_concepts"])
    column = {g: i for i, g in enumerate(genes)}
    for cell_type, (k, _) in best.items():
        sets = {
            "top-10 attributed": np.argsort(-score[:, k], kind="stable")[:TOP],
            "canonical markers": np.array([column[m] for m in MARKERS[cell_type] if m in column]),
            "top-10 DE": np.argsort(-de[:, k], kind="stable")[:TOP],
        }
        drops = deletion_fall(encoder, sae.encode, x, activations, k, sets)
        logger.info(
            "[explanations] faithfulness %s #%d: fall of the concept when set to its baseline together: %s; "
            "10 random expressed genes (chance) %.1f%% (sd %.1f%%)",
            cell_type, k, ", ".join(f"{name} {100 * drops[name]:.1f}%" for name in sets),
            100 * drops["random"], 100 * drops["random_sd"],
        )  # fmt: skip


def _run_demo(folder: Path) -> float:
    from scconcepts.cli import main as cli

    start = time.perf_counter()
    status = cli(["run", "--dataset", "pbmc_sorted", "--model", "scvi", "--out", str(folder), "--overwrite"])
    if status != 0:
        raise RuntimeError(f"scconcepts run exited with {status}")
    return time.perf_counter() - start


def _label_terms(table) -> tuple[str, float] | None:
    column = next((c for c in ("term", "top_term") if c in table.columns), None)
    if column is None or table[column].isna().all():
        return None
    terms = table[column].dropna().astype(str)
    counts = terms[terms.str.len() > 0].value_counts()  # "" = no term passed the FDR
    if counts.empty:
        return None
    return str(counts.index[0]), float(counts.iloc[0] / len(table))


def measure(folder: Path) -> None:
    """Print the figures of a pbmc_sorted results folder (model/ and sae/ saved by ``scconcepts run``)."""
    import torch

    from scconcepts import tl
    from scconcepts.models import load_encoder
    from scconcepts.results import read_results
    from scconcepts.sae import load_sae

    torch.set_num_threads(N_THREADS)
    rng = np.random.default_rng(0)
    adata = read_results(folder)
    encoder, sae = load_encoder(folder / "model"), load_sae(folder / "sae").eval()
    rows = adata.var_names.get_indexer(encoder.genes)
    genes = adata.var_names[rows].to_numpy().astype(str)
    counts = adata.layers["counts"] if "counts" in adata.layers else adata.X
    mean_expression = np.asarray(counts[:, rows].mean(axis=0)).ravel()
    cell_types = adata.obs["cell_type"].astype(str).to_numpy()
    best = best_concepts(adata.obsm["X_concepts"], cell_types)
    de = np.asarray(adata.varm["concepts_de"])[rows]
    logger.info(
        "[explanations] best-marking concepts (AUROC of activation vs sorted type): %s",
        ", ".join(f"{t} #{k} ({a:.2f})" for t, (k, a) in best.items()),
    )
    load = os.getloadavg()[0]
    for method in METHODS:
        start = time.perf_counter()
        out = tl.attribute(adata, encoder=encoder, sae=sae, method=method, copy=True)
        wall = time.perf_counter() - start
        tested = np.asarray(out.varm["concepts_attribution_ncells"])[rows] > 0
        padj = np.asarray(out.varm["concepts_attribution_padj"])[rows]
        significant = np.median([(padj[tested[:, k], k] < 0.05).mean() for k in range(padj.shape[1])])
        logger.info(
            "[explanations] %s%s: attribution of %d concepts %.1f s (%d threads, load average %.1f; target < 120 s); "
            "median share of tested genes significant (BH 5%%) %.1f%%; test: %s",
            method, " (default)" if method == METHODS[0] else "", padj.shape[1], wall, N_THREADS, load,
            100 * significant, out.uns["concepts_attribution"]["test"],
        )  # fmt: skip
        for kind, key in (("specific", "concepts_attribution"), ("raw", "concepts_attribution_raw")):
            score = np.asarray(out.varm[key])[rows]
            _print_figures(f"{method} {kind}", explanation_figures(score, tested, genes, mean_expression, best, rng))
        if method == METHODS[0]:
            score = np.where(tested, np.asarray(out.varm["concepts_attribution"])[rows], -np.inf)
            _print_deletions(encoder, sae, adata, genes, score, de, best)
    everywhere = np.ones_like(de, dtype=bool)
    _print_figures("DE (Wilcoxon)", explanation_figures(de, everywhere, genes, mean_expression, best, rng))
    terms = _label_terms(adata.uns["concepts"]["table"])
    if terms is None:
        logger.info("[explanations] no label terms in the concept table")
    else:
        n = len(adata.uns["concepts"]["table"])
        logger.info(
            "[explanations] most common label term %r on %.0f%% of concepts (one concept: %.1f%%; target <= 20%%)",
            terms[0], 100 * terms[1], 100 / n,
        )  # fmt: skip


def main() -> None:
    """Print the explanation figures (runs the demo pipeline first unless SCCONCEPTS_BENCH_RUN names a folder)."""
    given = os.environ.get("SCCONCEPTS_BENCH_RUN")
    if given:
        measure(Path(given))
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "demo"
        wall = _run_demo(folder)
        logger.info(
            "[explanations] scconcepts run --dataset pbmc_sorted --model scvi (make demo): %.0f s "
            "(load average %.1f; target < 300 s on 2 cores)",
            wall, os.getloadavg()[0],
        )  # fmt: skip
        measure(folder)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    main()
