"""``scconcepts enrich DIR``: gene-set enrichment of every concept, added to a results folder."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

from scconcepts._keys import params_key
from scconcepts.cli._common import load_run_models
from scconcepts.cli._failure import step
from scconcepts.results import (
    METRICS_JSON,
    MODEL_DIR,
    RESULTS_H5AD,
    SAE_DIR,
    read_metrics,
    read_results,
    update_results_folder,
    write_concepts_csv,
)

logger = logging.getLogger(__name__)

ENRICHMENT_CSV = "enrichment.csv"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``enrich`` subcommand."""
    parser = subparsers.add_parser(
        "enrich",
        help="find the pathways (GO BP, KEGG, GMT files) of each concept's gene attribution",
        description="Enrich each concept's attribution (and DE) ranking; write enrichment.csv and concept labels.",
    )
    parser.add_argument("folder", metavar="DIR", help="results folder with attribution (`scconcepts attribute`)")
    parser.add_argument(
        "--source",
        action="append",
        dest="sources",
        metavar="SOURCE",
        help="go_bp, GO_Biological_Process_2023, KEGG_2021_Human or a .gmt file; repeat for several "
        "(default: go_bp when installed, else the bundled GO BP 2023)",
    )
    parser.add_argument("--method", choices=["ulm", "ora", "gsea"], default="ulm", help="statistic (default: ulm)")
    parser.add_argument("--go-db", metavar="DIR", help="folder of GO.sqlite and org.Hs.eg.sqlite")
    parser.add_argument("--min-size", type=int, default=15, help="smallest set inside the background (default: 15)")
    parser.add_argument("--max-size", type=int, default=500, help="largest set inside the background (default: 500)")
    parser.add_argument("--alpha", type=float, default=0.05, help="FDR threshold for terms (default: 0.05)")
    parser.add_argument("--no-de", action="store_true", help="skip the enrichment of the DE ranking")
    parser.add_argument(
        "--gene-ranking",
        choices=["auto", "attribution", "token"],
        default="auto",
        help="each concept's gene ranking: the counterfactual attribution, or for token concepts (run --tokens) "
        "the per-gene token activation against the genes that had a token (default: auto, token for a token run)",
    )
    parser.add_argument("--no-elim", action="store_true", help="skip the elim pass over the GO DAG")
    parser.add_argument("--gene-symbols", metavar="COLUMN", help="var column with gene symbols")
    parser.add_argument(
        "--species",
        type=str.lower,
        choices=["human", "mouse"],
        default=None,
        help="species of the genes; mouse symbols are matched to human gene sets by case-insensitive symbol "
        "(an approximation of orthology) (default: mouse when most symbols are written the mouse way, e.g. "
        "Cd3e, said in the log; else human)",
    )
    parser.set_defaults(func=enrich_command)


def enrichment_metrics(summary: dict[str, Any]) -> dict[str, Any]:
    """The part of :func:`scconcepts.tl.enrichment_summary` that goes into ``metrics.json`` (totals, not term lists)."""
    metrics = {key: value for key, value in summary.items() if key != "attribution_vs_de"}
    if "attribution_vs_de" in summary:
        comparison = summary["attribution_vs_de"]
        metrics["attribution_vs_de"] = {key: comparison[key] for key in ("totals", "totals_elim", "by_source")}
    return metrics


def enrich_folder(folder: str | Path, *, key: str = "concepts", **options: Any) -> dict[str, Any]:
    """Enrich and label the concepts of a results folder; update it atomically.

    ``results.h5ad`` gains ``uns["<key>_enrichment"]`` and labels in the concept table,
    ``concepts.csv`` is rewritten from that table (as ``scconcepts run`` writes it, with the new
    ``label``, ``top_term`` and ``top_genes`` columns, and, when the folder holds the model and the SAE,
    each label's held-out term members test, :func:`scconcepts.tl.term_members`), ``enrichment.csv`` gets
    the long table and ``metrics.json`` an ``enrichment`` entry; a report in the folder is rewritten. All of them
    change in one commit.

    Parameters
    ----------
    folder
        Results folder with attribution.
    key
        Stem of the concept keys.
    **options
        Passed to :func:`scconcepts.tl.enrich`.

    Returns
    -------
    The summary written under ``enrichment`` in ``metrics.json``.

    """
    from scconcepts.report import refresh_report
    from scconcepts.tl._enrich import enrich, enrichment_summary, enrichment_table
    from scconcepts.tl._label import label_concepts
    from scconcepts.tl._term_members import term_members

    folder = Path(folder)
    with update_results_folder(folder) as staging:
        metrics = read_metrics(folder)  # a damaged file is refused before any work
        adata = read_results(folder)
        with step("enriching the concepts' genes"):
            enrich(adata, key=key, **options)
        with step("labelling the concepts"):
            label_concepts(adata, key=key)
            table = enrichment_table(adata, key=key)
            summary = enrichment_summary(adata, key=key, alpha=options.get("alpha", 0.05))
        if (folder / MODEL_DIR).is_dir() and (folder / SAE_DIR).is_dir():  # new labels: test their terms again
            with step("testing each label on its term's other genes"):
                encoder, sae = load_run_models(folder)
                term_members(
                    adata, encoder=encoder, sae=sae, key=key, go_db=options.get("go_db"), sources=options.get("sources")
                )
                metrics["term_members"] = dict(adata.uns[params_key(key)]["term_members"])
        with step("writing the results"):
            ranking = str(adata.uns[params_key(key)]["enrichment_params"]["gene_ranking"])
            metrics["enrichment"] = {"gene_ranking": ranking, **enrichment_metrics(summary)}
            adata.write_h5ad(staging / RESULTS_H5AD)
            write_concepts_csv(adata, staging, key=key)
            table.to_csv(staging / ENRICHMENT_CSV, index=False)
            (staging / METRICS_JSON).write_text(json.dumps(metrics, indent=2), encoding="utf-8")
        with step("rewriting the report"):
            refresh_report(folder, staging)
    return summary


def enrich_command(args: argparse.Namespace) -> int:
    """Run ``scconcepts enrich``."""
    from scconcepts.genesets._terms import coverage_line

    options: dict[str, Any] = {
        "method": args.method,
        "go_db": args.go_db,
        "min_size": args.min_size,
        "max_size": args.max_size,
        "alpha": args.alpha,
        "elim": not args.no_elim,
        "gene_symbols": args.gene_symbols,
        "species": args.species,
        "gene_ranking": args.gene_ranking,
    }
    if args.sources:
        options["sources"] = args.sources
    if args.no_de:
        options["rankings"] = ("attribution",)
    summary = enrich_folder(args.folder, **options)
    print(f"enrichment written to {Path(args.folder) / ENRICHMENT_CSV}: {coverage_line(summary['terms'])}")
    return 0
