"""``scconcepts steer DIR --concept C``: what changes in the genes if a concept is switched off or turned up.

``scconcepts steer DIR --cells SOURCE --toward TARGET``: move the source cells toward the target state through
the concepts that separate the two, against controls of the same size (:mod:`scconcepts.steering`).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from scconcepts.cli._common import add_device_argument, check_run_models, device_of, load_run_models, positive
from scconcepts.cli._failure import step
from scconcepts.results import RESULTS_H5AD, read_results, update_results_folder

logger = logging.getLogger(__name__)

STEERING_CSV = "steering.csv"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``steer`` subcommand."""
    parser = subparsers.add_parser(
        "steer", help="switch a concept off (or turn it up) in chosen cells and decode the change to genes"
    )
    parser.add_argument("folder", metavar="DIR", help="results folder written by `scconcepts run`")
    parser.add_argument("--concept", help="concept id (or its exact automatic label)")
    parser.add_argument("--value", help="off (default), a multiple of the activation (x2, 0.5x) or an activation >= 0")
    parser.add_argument(
        "--cells",
        metavar="TYPE|QUERY",
        help="a cell type, types joined by commas (with --toward), or a query on obs (default: cells where the "
        "concept is active)",
    )
    parser.add_argument(
        "--toward",
        metavar="TYPE|QUERY",
        help="steer the --cells toward this state (a cell type or a query on obs) through the concepts separating them",
    )
    parser.add_argument(
        "--concepts", default="auto", help="with --toward: auto (default: |Cohen's d| >= 0.5) or ids, comma-separated"
    )
    parser.add_argument(
        "--strength", type=float, default=1.0, help="with --toward: share of the way to the target's codes (default 1)"
    )
    parser.add_argument(
        "--match",
        choices=("mean", "quantile"),
        default="mean",
        help="with --toward: the target's mean code or quantile",
    )
    parser.add_argument(
        "--reproducible-only", action="store_true", help="with --toward --concepts auto: reproducible concepts only"
    )
    parser.add_argument("--n-draws", type=positive, default=10, help="with --toward: draws of random controls (10)")
    parser.add_argument("--labels-key", help="obs column of cell types (default: the one of the run)")
    parser.add_argument("--n-null", type=positive, default=20, help="random directions of the same norm (default: 20)")
    parser.add_argument("--no-enrichment", action="store_true", help="skip gene-set enrichment of the change")
    parser.add_argument(
        "--embedding-only", action="store_true", help="no expression decoding (models without a decoder)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the random directions (default: 0)")
    add_device_argument(parser)
    parser.set_defaults(func=steer_command)


def steer_folder(folder: str | Path, *, key: str = "concepts", device: str = "cpu", **options: Any) -> dict[str, Any]:
    """Steer a concept of a results folder; ``results.h5ad``, ``steering.csv`` and the report change in one commit.

    Parameters
    ----------
    folder
        Results folder of ``scconcepts run`` (with ``model/`` and ``sae/``).
    key
        Stem of the concept keys.
    device
        Torch device the model and the SAE are loaded onto (checked before the folder is read).
    **options
        Passed to :func:`scconcepts.tl.steer` (``concept``, ``value``, ``cells``...).

    Returns
    -------
    The steering result.

    """
    import pandas as pd

    from scconcepts import tl
    from scconcepts._device import resolve_device
    from scconcepts.report import refresh_report
    from scconcepts.results import read_manifest
    from scconcepts.steering._rows import merge_steering, steering_rows
    from scconcepts.steering._table import toward_rows
    from scconcepts.tl._concept_model import refuse_token_run

    device = str(resolve_device(device))  # a GPU asked for but absent is refused before anything is read
    folder = Path(folder)
    refuse_token_run(read_manifest(folder), "steer")
    with update_results_folder(folder) as staging:
        check_run_models(folder)
        adata = read_results(folder)
        with step("loading the model and the SAE"):
            encoder, sae = load_run_models(folder, device=device)
        toward = options.get("toward") is not None
        with step("steering toward the state" if toward else "steering the concept"):
            result = tl.steer(adata, key=key, encoder=encoder, sae=sae, **options)
        with step("writing the results"):
            path = folder / STEERING_CSV
            old = pd.read_csv(path) if path.is_file() and path.stat().st_size else None
            rows = toward_rows(result) if toward else steering_rows(result)
            merge_steering(old, rows).to_csv(staging / STEERING_CSV, index=False)
            adata.write_h5ad(staging / RESULTS_H5AD)
        with step("rewriting the report"):
            refresh_report(folder, staging)
    return result


def steer_command(args: argparse.Namespace) -> int:
    """Run ``scconcepts steer``."""
    from scconcepts._errors import InputError

    device = device_of(args)  # a GPU asked for but absent is refused before the folder is read
    if args.toward is not None:
        if args.concept is not None or args.value is not None:
            raise InputError("--toward steers toward a state; leave out --concept and --value")
        if args.cells is None:
            raise InputError("--toward needs --cells, the source state (a cell type or a query on obs)")
        result = steer_folder(
            args.folder,
            device=device,
            cells=args.cells,
            toward=args.toward,
            concepts=args.concepts,
            strength=args.strength,
            match=args.match,
            reproducible_only=args.reproducible_only,
            labels_key=args.labels_key,
            n_null=args.n_null,
            n_draws=args.n_draws,
            expression=not args.embedding_only,
            seed=args.seed,
        )
        logger.info(
            "steering of %s toward %s through %d concepts written to %s",
            result["cells"],
            result["toward"],
            result["n_concepts"],
            Path(args.folder) / STEERING_CSV,
        )
        return 0
    if args.concept is None:
        raise InputError("name a concept to steer (--concept), or a state to steer the cells toward (--toward)")
    result = steer_folder(
        args.folder,
        device=device,
        concept=args.concept,
        value=args.value if args.value is not None else "off",
        cells=args.cells,
        labels_key=args.labels_key,
        n_null=args.n_null,
        enrich=not args.no_enrichment,
        expression=not args.embedding_only,
        seed=args.seed,
    )
    logger.info("steering of concept %d written to %s", result["concept"], Path(args.folder) / STEERING_CSV)
    return 0
