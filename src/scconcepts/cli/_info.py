"""``scconcepts info DIR``: summarise a results folder."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from scconcepts.results import EVALUATION_JSON, read_manifest, read_metrics

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
    metrics = read_metrics(folder)
    lines = [f"scconcepts results in {folder.resolve()}", f"  written: {manifest.get('written', '?')}"]
    for field in ("dataset", "input", "model", "sae"):
        if manifest.get(field):
            lines.append(f"  {field}: {manifest[field]}")
    if metrics:
        lines.append(
            f"  cells: {metrics.get('n_cells', '?')}, embedding dim: {metrics.get('embedding_dim', '?')}, "
            f"concepts: {metrics.get('n_concepts', '?')}, k: {metrics.get('k', '?')}"
        )
        lines += [f"  {name}: {_format(metrics[name])}" for name in SHOWN_METRICS if name in metrics]
    lines += _token_lines(folder, manifest, metrics)
    lines += _enrichment_lines(metrics.get("enrichment", {}))
    if (folder / EVALUATION_JSON).is_file():
        try:
            lines.append(_evaluation_line(json.loads((folder / EVALUATION_JSON).read_text())))
        except (ValueError, AttributeError, TypeError):
            lines.append(f"  evaluation: {EVALUATION_JSON} is not readable; rerun scconcepts evaluate")
    lines.append(f"  files: {', '.join(manifest.get('files', []))}")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def _token_lines(folder: Path, manifest: dict, metrics: dict) -> list[str]:
    """For a ``run --tokens`` folder: that it is a token run, its layer and the token store's figures."""
    if not (manifest.get("tokens") or metrics.get("tokens")):
        return []
    from scconcepts.results._tokens import token_store_summary  # imports numpy: only for a token run

    store = token_store_summary(folder)
    layer = manifest.get("layer") or metrics.get("layer") or (store or {}).get("layer") or "?"
    model = manifest.get("model") or (store or {}).get("model") or "?"
    head = f"  token run: concepts of {model}'s gene-token states at {layer} (per cell: max over its tokens)"
    if store is None:
        return [head, "  tokens: the token store (tokens/) is missing or unreadable"]
    median = store["median_tokens_per_cell"]
    limit = store["max_tokens_per_cell"]
    return [
        head,
        f"  tokens stored: {store['n_tokens']} of {store['n_cells']} cells ({store['dim']}-d states), "
        f"tokens per cell: median {_format(median) if median is not None else '?'}, "
        f"max_tokens_per_cell: {limit if limit is not None else 'all'}",
        f"  token store: {store['store']}",
    ]


def _method_line(row: dict, label: str) -> str:
    """One method's row of ``evaluation.json``: each metric beside its chance level in parentheses."""
    shown = {
        "r2": "R2",
        "pure_share": "share >=80% one type",
        "ami": "AMI",
        "explanation_auroc": "explanation AUROC",
        "grounding": "grounded",
        "grounding_specific": "specifically grounded",
    }
    parts = []
    for name, text in shown.items():
        if row.get(name) is None:
            continue
        chance = row.get(f"{name}_chance")
        parts.append(f"{text} {_format(row[name])}" + (f" (chance {_format(chance)})" if chance is not None else ""))
    for name in ("grounding", "grounding_specific"):
        if row.get(f"{name}_excess") is not None:
            parts.append(
                f"{name.replace('_', ' ')} excess over random directions {row[f'{name}_excess']:+.3f} "
                f"(p {_format(row.get(f'{name}_pvalue'))})"
            )
    return f"  {label}: " + ", ".join(parts)


def _enrichment_lines(enrichment: dict) -> list[str]:
    """The coverage figure as the log printed it (``metrics.json``'s ``enrichment.terms``)."""
    if enrichment.get("skipped"):
        return [f"  enrichment: skipped ({enrichment['skipped']})"]
    if "terms" in enrichment:
        from scconcepts.genesets._terms import coverage_line  # imports pandas: only when there is a figure

        return [f"  terms: {coverage_line(enrichment['terms'])}"]
    alpha = enrichment.get("alpha", 0.05)  # folders written before the terms definition
    return [
        f"  concepts with a {source} term at FDR < {alpha}: {share:.0%}"
        for source, share in enrichment.get("concepts_with_term", {}).items()
    ]


def _evaluation_line(evaluation: dict) -> str:
    """The SAE's and the neurons' rows of ``evaluation.json`` (mean over seeds), beside their chance levels."""
    rows = {row.get("method"): row for row in evaluation.get("table", [])}
    seeds = len(evaluation.get("params", {}).get("seeds", []))
    lines = [_method_line(rows.get("sae", {}), f"evaluation ({seeds} seeds, SAE)")]
    if "neurons" in rows:
        lines.append(_method_line(rows["neurons"], "  neurons"))
    selectivity = evaluation.get("selectivity") or {}
    mean = selectivity.get("mean") or {}
    if mean.get("sae") is not None:
        others = ", ".join(f"{m} {_format(mean[m])}" for m in ("run", "neurons", "pca", "ica", "nmf") if m in mean)
        lines.append(
            f"    selectivity (best single component's AUROC per cell type, mean over {len(selectivity['table'])}): "
            f"SAE {_format(mean['sae'])} (chance {_format(mean.get('chance'))}), {others}"
        )
    stability = evaluation.get("stability", {}).get("sae", {})
    if stability.get("matched_cosine") is not None:
        text = f"    SAE matched cosine across seeds {_format(stability['matched_cosine'])}"
        if stability.get("reproduced") is not None:
            text += f", {stability['reproduced']:.0%} reproduced > 0.9"
        if stability.get("matched_cosine_chance") is not None:
            text += (
                f" (random atoms: {_format(stability['matched_cosine_chance'])}, "
                f"{stability.get('reproduced_chance', 0):.0%})"
            )
        lines.append(text)
    cross = evaluation.get("cross_dataset") or {}
    across = cross.get("methods", {}).get("sae", {}).get("matched_cosine")
    if across is not None:
        lines.append(f"    SAE matched cosine vs {cross.get('name')} {_format(across)}")
    lines.append(f"    (details: {EVALUATION_JSON})")
    return "\n".join(lines)
