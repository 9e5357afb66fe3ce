"""``scconcepts info DIR``: summarise a results folder."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from scconcepts.results import METRICS_JSON, read_manifest

SHOWN_METRICS = ["r2", "l0", "dead_fraction", "accuracy_concepts", "accuracy_embedding", "cosine", "norm_ratio"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``info`` subcommand."""
    parser = subparsers.add_parser("info", help="summarise a results folder")
    parser.add_argument("folder", metavar="DIR")
    parser.set_defaults(func=run_info)


def _format(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def run_info(args: argparse.Namespace) -> int:
    """Write a short summary of the results folder to stdout."""
    folder = Path(args.folder)
    manifest = read_manifest(folder)
    metrics = json.loads((folder / METRICS_JSON).read_text()) if (folder / METRICS_JSON).is_file() else {}
    lines = [f"scconcepts results in {folder.resolve()}", f"  written: {manifest.get('written', '?')}"]
    for field in ("dataset", "input", "model"):
        if manifest.get(field):
            lines.append(f"  {field}: {manifest[field]}")
    if metrics:
        lines.append(
            f"  cells: {metrics.get('n_cells', '?')}, embedding dim: {metrics.get('embedding_dim', '?')}, "
            f"concepts: {metrics.get('n_concepts', '?')}, k: {metrics.get('k', '?')}"
        )
        lines += [f"  {name}: {_format(metrics[name])}" for name in SHOWN_METRICS if name in metrics]
    lines.append(f"  files: {', '.join(manifest.get('files', []))}")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0
