"""``scconcepts evaluate DIR``: measure the concepts of a results folder against baselines into ``evaluation.json``."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from scconcepts.cli._common import positive

logger = logging.getLogger(__name__)

EVALUATION_JSON = "evaluation.json"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``evaluate`` subcommand."""
    parser = subparsers.add_parser(
        "evaluate",
        help="measure concepts against neurons, PCA, ICA, NMF and dictionary learning (evaluation.json)",
        description=(
            "Retrain the SAE over several seeds on the run's training cells, fit the baselines on the same "
            "cells, and measure fidelity, sparsity, informativeness, monosemanticity and stability on the "
            "held-out cells; writes evaluation.json into the results folder."
        ),
    )
    parser.add_argument("folder", metavar="DIR", help="results folder written by `scconcepts run`")
    parser.add_argument("--seeds", type=positive, default=3, help="number of seeds 0..N-1 (default: 3)")
    parser.add_argument("--no-sweep", action="store_true", help="skip the k x expansion sweep")
    parser.add_argument("--epochs", type=positive, default=None, help="SAE training epochs (default: automatic)")
    parser.add_argument(
        "--no-grounding", action="store_true", help="skip attribution + GO enrichment of every method's components"
    )
    parser.add_argument("--labels-key", default=None, help="obs column of cell types (default: the run's)")
    parser.set_defaults(func=_handle)


def _handle(args: argparse.Namespace) -> int:
    from scconcepts.evaluation import to_jsonable
    from scconcepts.results import MODEL_DIR, add_to_results, read_results
    from scconcepts.tl._evaluate import evaluate

    adata = read_results(args.folder)
    options: dict = {} if args.epochs is None else {"epochs": args.epochs}
    if not args.no_grounding:
        from scconcepts.models import load_encoder

        options["encoder"] = load_encoder(Path(args.folder) / MODEL_DIR)
    result = evaluate(
        adata, seeds=tuple(range(args.seeds)), labels_key=args.labels_key, run_sweep=not args.no_sweep, **options
    )
    text = json.dumps(to_jsonable(result), indent=2)
    add_to_results(args.folder, EVALUATION_JSON, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    table = result["table"]
    columns = [
        c for c in ("r2", "l0", "dead_fraction", "accuracy", "purity", "ami", "pure_share", "grounding") if c in table
    ]
    print(table[columns].round(3).to_string())
    print(f"evaluation written to {Path(args.folder) / EVALUATION_JSON}")
    return 0
