"""``scconcepts layers``: read out every layer of scGPT or Geneformer (label probe, small SAE) to choose one."""

from __future__ import annotations

import argparse
import logging
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from scconcepts._errors import InputError
from scconcepts.cli._common import (
    add_device_argument,
    add_input_arguments,
    device_of,
    load_cells,
    model_options,
    positive,
)

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)

#: Models with layers of gene tokens to choose from.
TOKEN_MODELS = ("scgpt", "geneformer")
_LAYER = re.compile(r"^layer_\d+$")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``layers`` subcommand."""
    parser = subparsers.add_parser(
        "layers", help="read out every layer of scGPT or Geneformer (label probe, small SAE) to choose one"
    )
    add_input_arguments(parser)
    parser.add_argument("--model", required=True, metavar="NAME", help="scgpt or geneformer")
    parser.add_argument("--checkpoint", metavar="DIR", help="the model's checkpoint folder")
    add_device_argument(parser)
    parser.add_argument(
        "--layers", metavar="LIST", help="comma-separated layer_<i> to read (default: every layer of the model)"
    )
    parser.add_argument(
        "--labels-key",
        default=None,
        metavar="COLUMN",
        help="obs column the probe reads (default: cell_type, when the cells have it)",
    )
    parser.add_argument(
        "--n-cells", type=positive, default=1000, metavar="N", help="cells read, a seeded sample (default: 1000)"
    )
    parser.add_argument(
        "--max-tokens-per-cell",
        type=positive,
        default=16,
        metavar="N",
        help="gene tokens per cell for the SAE (default: 16)",
    )
    parser.add_argument(
        "--k", type=positive, default=8, help="the small SAE's active latents and PCA's components (default: 8)"
    )
    parser.add_argument("--expansion", type=positive, default=2, help="the small SAE's latents / dim (default: 2)")
    parser.add_argument("--epochs", type=positive, default=20, help="the small SAE's most epochs (default: 20)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--out", metavar="FILE.csv", help="also write the table to this CSV file")
    parser.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    parser.set_defaults(func=run_layers, layer=None)


def _layers(value: str | None) -> list[str] | None:
    """The ``--layers`` list, each name checked for the ``layer_<i>`` form."""
    if value is None:
        return None
    names = [name.strip() for name in value.split(",") if name.strip()]
    bad = [name for name in names if not _LAYER.match(name)]
    if not names or bad:
        raise InputError(f"--layers takes comma-separated layer_<i> names (e.g. layer_4,layer_8); got {value!r}")
    return names


def _out(args: argparse.Namespace) -> Path | None:
    """``--out``, refused when it exists (without ``--overwrite``) or is not a .csv file."""
    if args.out is None:
        return None
    from scconcepts.results import check_path

    out = check_path(args.out, "--out")
    if out.suffix != ".csv":
        raise InputError(f"--out {out} must end in .csv")
    if out.exists() and not args.overwrite:
        raise InputError(f"--out {out} exists; pass --overwrite to replace it")
    return out


def layer_table_text(table: pd.DataFrame) -> str:
    """The read-out as text: each probe beside its permuted-label null, the SAE's R^2 beside PCA's."""
    import pandas as pd

    k = table.attrs.get("k", "k")
    shown = pd.DataFrame(
        {
            "probe (null)": [f"{p:.3f} ({n:.3f})" for p, n in zip(table["probe"], table["probe_null"], strict=True)],
            "probe sd": table["probe_sd"].map(lambda v: f"{v:.3f}"),
            "SAE R^2": table["sae_r2"].map(lambda v: f"{v:.3f}"),
            f"PCA R^2 ({k} comp.)": table["pca_r2"].map(lambda v: f"{v:.3f}"),
            "cells": table["n_cells"],
            "held-out tokens": table["n_tokens"],
        }
    )
    shown.index = table["layer"].to_numpy()
    return (
        "layer read-out (probe: balanced accuracy of the labels from the pooled states, labels permuted in "
        "parentheses; R^2 on the tokens of held-out cells)\n" + shown.to_string()
    )


def run_layers(args: argparse.Namespace) -> int:
    """Read out the layers, log the table and write it to ``--out``."""
    from scconcepts.cli._run import check_labels_key
    from scconcepts.models._registry import build_encoder
    from scconcepts.tl import layer_readout

    if args.model not in TOKEN_MODELS:
        raise InputError(f"the layer read-out compares the layers of a transformer: --model scgpt or geneformer "
                         f"(got {args.model!r}, which has no layers of gene tokens)")  # fmt: skip
    layers = _layers(args.layers)
    out = _out(args)
    device = device_of(args)
    adata = load_cells(args)
    labels_key = check_labels_key(adata, args.labels_key)
    if labels_key is None:
        logger.warning("the cells have no cell_type column and no --labels-key was given: no probe, only the SAE")
    options = model_options(args)
    encoder = build_encoder(options.pop("model"), adata, **options)
    table = layer_readout(adata, encoder, layers, labels_key=labels_key, n_cells=args.n_cells,
                          max_tokens_per_cell=args.max_tokens_per_cell, k=args.k, expansion=args.expansion,
                          epochs=args.epochs, seed=args.seed, device=device)  # fmt: skip
    logger.info("%s", layer_table_text(table))
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(f".{out.name}.partial")
        try:
            table.to_csv(partial, index=False)
            os.replace(partial, out)
        finally:
            partial.unlink(missing_ok=True)
        logger.info("wrote the layer read-out to %s", out)
    return 0
