"""What one steered concept does to genes: the decoded change tested cell by cell against random directions.

Also the gene-set enrichment of that change and the genes it lowers and raises most.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from anndata import AnnData

from scconcepts.models import Encoder
from scconcepts.stats import paired_log_test, random_directions
from scconcepts.steering._genes import ALPHA

GENE_COLUMNS = ["gene", "lfc", "t", "pval", "padj", "mean_original", "mean_steered", "null_abs_lfc", "beyond_null"]


def gene_effects(
    encoder: Encoder,
    cells: AnnData,
    original: np.ndarray,
    steered: np.ndarray,
    shift: np.ndarray,
    *,
    n_null: int,
    seed: int,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The gene table of the steering (sorted by lfc) and the summary of its null of ``n_null`` random directions."""
    pseudo = float(encoder.decode_pseudo_count)
    before = encoder.decode_expression(original, cells)
    after = encoder.decode_expression(steered, cells)
    test = paired_log_test(before, after, pseudo_count=pseudo)
    null_lfc = []
    for draw in random_directions(shift, n_null, seed=seed):
        decoded = encoder.decode_expression(original + draw, cells)
        null_lfc.append(paired_log_test(before, decoded, pseudo_count=pseudo).lfc)
    null_lfc = np.asarray(null_lfc) if null_lfc else np.zeros((0, before.shape[1]))
    null_abs = np.quantile(np.abs(null_lfc), 0.95, axis=0) if len(null_lfc) else np.zeros(before.shape[1])
    beyond = (test.padj < ALPHA) & (np.abs(test.lfc) > null_abs)
    genes = pd.DataFrame(
        {
            "gene": encoder.genes,
            "lfc": test.lfc,
            "t": test.t,
            "pval": test.pval,
            "padj": test.padj,
            "mean_original": before.mean(axis=0),
            "mean_steered": after.mean(axis=0),
            "null_abs_lfc": null_abs,
            "beyond_null": beyond,
        }
    )
    null = {
        "n_draws": len(null_lfc),
        "n_genes_beyond": int(beyond.sum()),
        "n_genes_significant": int((test.padj < ALPHA).sum()),
        "max_abs_lfc": float(np.abs(test.lfc).max()) if test.lfc.size else 0.0,
        "null_max_abs_lfc": float(np.abs(null_lfc).max(axis=1).mean()) if len(null_lfc) else 0.0,
    }
    return genes.sort_values("lfc", kind="stable", ignore_index=True), null


def change_enrichment(genes: pd.DataFrame, adata: AnnData, concept: int, sources: Any) -> pd.DataFrame:
    """Gene-set enrichment (ulm) of the steered change (log fold changes of the model's genes)."""
    from scconcepts.genesets import EnrichOptions, enrich_scores, harmonise_genes, load_source

    names = list(genes["gene"])
    scores = genes["lfc"].to_numpy(dtype=np.float64)[None, :]
    var = adata.var.reindex(names)
    frames = []
    for spec in [sources] if isinstance(sources, str) else list(sources):
        sets = load_source(spec)
        keys = harmonise_genes(names, sets.members(), var=var, source=sets.source)
        frames.append(
            enrich_scores(
                scores, sets, gene_keys=keys, gene_names=names, concepts=[concept], opts=EnrichOptions(method="ulm")
            )
        )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def top_genes(result: dict[str, Any], n: int = 10) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``n`` genes the steering lowers most and raises most (beyond the null and significant)."""
    genes = result.get("genes")
    if not isinstance(genes, pd.DataFrame) or genes.empty:
        empty = pd.DataFrame(columns=GENE_COLUMNS)
        return empty, empty
    called = genes[genes["beyond_null"].astype(bool)]
    down = called[called["lfc"] < 0].sort_values("lfc", kind="stable").head(n)
    up = called[called["lfc"] > 0].sort_values("lfc", ascending=False, kind="stable").head(n)
    return down.reset_index(drop=True), up.reset_index(drop=True)
