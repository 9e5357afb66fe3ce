"""``scconcepts embed``: embed cells with a model and write them with the embedding to an .h5ad file."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from scconcepts._errors import InputError
from scconcepts.cli._common import (
    add_backed_argument,
    add_input_arguments,
    add_model_arguments,
    device_of,
    load_cells,
    model_options,
)

logger = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``embed`` subcommand."""
    parser = subparsers.add_parser("embed", help="embed cells with a model into an .h5ad file")
    add_input_arguments(parser)
    add_model_arguments(parser)
    add_backed_argument(parser)
    parser.add_argument("--out", required=True, metavar="FILE.h5ad", help="AnnData file to write")
    parser.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    parser.set_defaults(func=run_embed)


def run_embed(args: argparse.Namespace) -> int:
    """Embed the cells and write them (with ``obsm["X_<model>"]``) to ``--out``."""
    from scconcepts import tl

    device_of(args)  # a GPU asked for but absent is refused before reading the cells
    out = Path(args.out)
    if out.suffix != ".h5ad":
        raise InputError(f"--out {out} must end in .h5ad")
    if out.exists() and not args.overwrite:
        raise InputError(f"--out {out} exists; pass --overwrite to replace it")
    adata = load_cells(args)
    encoder = tl.embed(adata, **model_options(args))
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    try:
        adata.write_h5ad(partial)
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    logger.info("wrote %d cells with obsm[%r] to %s", adata.n_obs, encoder.obsm_key, out)
    return 0
