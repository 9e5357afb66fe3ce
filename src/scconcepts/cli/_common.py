"""Options shared by subcommands: where the cells come from and which model embeds them."""

from __future__ import annotations

import argparse
from typing import Any

from anndata import AnnData

from scconcepts._errors import InputError


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--dataset`` / ``--input`` (one of them required) and ``--layer``."""
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--dataset", help="a bundled dataset: pbmc_sorted, pbmc68k or immune_sample")
    source.add_argument("--input", metavar="FILE", help="cells to analyse: .h5ad, .zarr, 10x .h5, 10x mtx folder, CSV")
    parser.add_argument("--layer", help="layer holding the values the model reads (default: X)")


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the model choice and its options."""
    parser.add_argument("--model", default="scvi", help="model family: scvi, scgpt, geneformer (default: scvi)")
    parser.add_argument("--checkpoint", metavar="DIR", help="load this saved model instead of training one")
    parser.add_argument("--batch-key", help="obs column of batches (scVI)")
    parser.add_argument("--n-latent", type=int, default=10, help="scVI latent dimension (default: 10)")
    parser.add_argument("--max-epochs", type=int, default=None, help="scVI training epochs (default: scvi-tools')")


def load_cells(args: argparse.Namespace) -> AnnData:
    """Load the cells that ``--dataset`` or ``--input`` names."""
    from scconcepts import ds

    adata = ds.load_dataset(args.dataset) if args.dataset else ds.read(args.input)
    if adata.n_obs == 0:
        raise InputError("the data hold no cells; give at least one cell")
    return adata


def model_options(args: argparse.Namespace) -> dict[str, Any]:
    """Options for :func:`scconcepts.tl.embed` from the parsed arguments."""
    options: dict[str, Any] = {"model": args.model, "checkpoint": args.checkpoint, "layer": args.layer}
    if args.model == "scvi":
        if args.n_latent < 2:
            raise InputError(f"--n-latent must be at least 2, got {args.n_latent}")
        options.update(n_latent=args.n_latent, batch_key=args.batch_key, max_epochs=args.max_epochs)
    return options


def positive(value: str) -> int:
    """Argparse type: a positive integer."""
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return number
