"""``scconcepts export``: a run's dictionary as a SAELens or sparsify checkpoint, which those libraries load."""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import tempfile
from pathlib import Path

from scconcepts._errors import InputError

logger = logging.getLogger(__name__)

FORMATS = ("saelens", "sparsify")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``export`` subcommand."""
    parser = subparsers.add_parser("export", help="write a run's SAE as a SAELens or sparsify checkpoint")
    parser.add_argument("folder", metavar="DIR", help="results folder of `scconcepts run` (or its sae/ folder)")
    parser.add_argument("--format", required=True, choices=FORMATS, help="the library to write for")
    parser.add_argument(
        "--out", metavar="PATH", help="folder to create (default: DIR_<format> beside DIR); never overwritten"
    )
    parser.set_defaults(func=export)


def export(args: argparse.Namespace) -> int:
    """Write the SAE of ``args.folder`` in ``args.format`` into a new folder."""
    from scconcepts.sae import read_checkpoint
    from scconcepts.sae._saelens import write_saelens
    from scconcepts.sae._sparsify import write_sparsify

    folder = Path(args.folder)
    out = Path(args.out) if args.out else folder.parent / f"{folder.name}_{args.format}"
    if out.exists():
        raise InputError(f"{out} already exists; choose another --out (export never overwrites)")
    checkpoint = read_checkpoint(folder)
    if checkpoint.format != "scconcepts":
        raise InputError(f"{folder} holds a {checkpoint.format} checkpoint already; export reads scconcepts runs")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:  # written whole beside the target, then renamed: an error or interruption leaves no half folder
        if args.format == "saelens":
            write_saelens(checkpoint.sae, staging / "sae", hook=checkpoint.hook, model=checkpoint.info.get("model"))
        else:
            write_sparsify(checkpoint.sae, staging / "sae")
        (staging / "sae").rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    logger.info("wrote %s (%s: %d concepts on %d dimensions, %s)", out, args.format, checkpoint.sae.n_latents,
                checkpoint.sae.d_in, json.dumps(checkpoint.hook) if checkpoint.hook else "no hook")  # fmt: skip
    loader = "SAE.load_from_disk" if args.format == "saelens" else "SparseCoder.load_from_disk"
    logger.info("load it with %s(%r)", loader, str(out))
    return 0
