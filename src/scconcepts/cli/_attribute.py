"""``scconcepts attribute DIR``: add gene attribution of every concept to a results folder."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from scconcepts.cli._common import (
    LazyChoices,
    add_cluster_arguments,
    add_device_argument,
    check_run_models,
    device_of,
    load_run_models,
    positive,
)
from scconcepts.cli._failure import step
from scconcepts.results import RESULTS_H5AD, read_results, update_results_folder

logger = logging.getLogger(__name__)

ATTRIBUTION_CSV = "attribution.csv"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``attribute`` subcommand."""
    parser = subparsers.add_parser(
        "attribute", help="find the genes that make each concept fire (perturb, re-encode, compare)"
    )
    parser.add_argument("folder", metavar="DIR", help="results folder written by `scconcepts run`")
    parser.add_argument(
        "--method",
        choices=LazyChoices("scconcepts.attribution", "STRATEGIES"),
        metavar="METHOD",
        default="baseline",
        help="perturbation: %(choices)s (default: baseline)",
    )
    parser.add_argument("--n-cells", type=positive, default=50, help="cells perturbed per concept (default: 50)")
    parser.add_argument(
        "--cells", choices=["top", "random"], default="top", help="most activating or random activating cells"
    )
    parser.add_argument(
        "--genes",
        choices=LazyChoices("scconcepts.attribution", "GENE_SETS"),
        metavar="SET",
        default="expressed",
        help="genes perturbed in each cell: %(choices)s (default: expressed)",
    )
    parser.add_argument(
        "--engine",
        choices=LazyChoices("scconcepts.attribution", "ENGINES"),
        metavar="ENGINE",
        default="auto",
        help="how changes are computed: %(choices)s (default: auto)",
    )
    parser.add_argument(
        "--n-confirm", type=int, default=10, help="screen+confirm: top genes per concept run exactly (default: 10)"
    )
    parser.add_argument(
        "--confirm-share",
        type=float,
        default=0.1,
        help="screen+confirm: share of the exact rows run exactly, chosen by estimated effect (default: 0.1)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of --cells random (default: 0)")
    add_cluster_arguments(parser)
    add_device_argument(parser)
    parser.set_defaults(func=attribute_command)


def attribute_folder(folder: str | Path, *, key: str = "concepts", device: str = "cpu", **options: Any) -> Path:
    """Attribute every concept of a results folder and update it atomically.

    ``results.h5ad`` gains the attribution keys of :func:`scconcepts.tl.attribute` and
    ``attribution.csv`` the long table of :func:`scconcepts.tl._attribution_table.attribution_table`; a
    report in the folder is rewritten. All of them change in one commit.

    Parameters
    ----------
    folder
        Results folder of ``scconcepts run`` (with ``model/`` and ``sae/``).
    key
        Stem of the concept keys.
    device
        Torch device the model and the SAE are loaded onto.
    **options
        Passed to :func:`scconcepts.tl.attribute` (``method``, ``n_cells``, ``engine``...).

    Returns
    -------
    The path of ``attribution.csv``.

    """
    from scconcepts import tl
    from scconcepts.report import refresh_report
    from scconcepts.tl._attribution_table import attribution_table

    folder = Path(folder)
    with update_results_folder(folder) as staging:
        check_run_models(folder)
        adata = read_results(folder)
        with step("loading the model and the SAE"):
            encoder, sae = load_run_models(folder, device=device)
        with step("attributing the concepts to genes"):
            tl.attribute(adata, encoder=encoder, sae=sae, key=key, **options)
            table = attribution_table(adata, key=key)
        with step("writing the results"):
            adata.write_h5ad(staging / RESULTS_H5AD)
            table.to_csv(staging / ATTRIBUTION_CSV, index=False)
        with step("rewriting the report"):
            refresh_report(folder, staging)
    return folder / ATTRIBUTION_CSV


def attribute_command(args: argparse.Namespace) -> int:
    """Run ``scconcepts attribute``."""
    from scconcepts.distributed import dask_client

    device = device_of(args)
    with dask_client(scheduler=args.scheduler, workers=args.workers) as client:
        path = attribute_folder(
            args.folder,
            client=client,
            device=device,
            method=args.method,
            n_cells=args.n_cells,
            cells=args.cells,
            genes=args.genes,
            engine=args.engine,
            n_confirm=args.n_confirm,
            confirm_share=args.confirm_share,
            seed=args.seed,
        )
    logger.info("attribution written to %s", path)
    return 0
