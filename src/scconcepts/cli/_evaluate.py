"""``scconcepts evaluate DIR``: measure the concepts of a results folder against baselines into ``evaluation.json``."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scconcepts._errors import InputError
from scconcepts.cli._common import add_cluster_arguments, add_device_argument, device_of, positive
from scconcepts.cli._failure import step

if TYPE_CHECKING:
    from anndata import AnnData

logger = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``evaluate`` subcommand."""
    parser = subparsers.add_parser(
        "evaluate",
        help="measure concepts against neurons, PCA, ICA, NMF and dictionary learning (evaluation.json)",
        description=(
            "Retrain the SAE over several seeds on the run's training cells (for a consensus run, each seed is "
            "a consensus of as many runs as the run's, on seeds no other evaluation seed uses), fit the "
            "baselines on the same cells, and measure fidelity, sparsity, informativeness, monosemanticity and "
            "stability on the held-out cells; writes evaluation.json into the results folder."
        ),
    )
    parser.add_argument("folder", metavar="DIR", help="results folder written by `scconcepts run`")
    parser.add_argument("--seeds", type=positive, default=3, help="number of seeds 0..N-1 (default: 3)")
    parser.add_argument("--no-sweep", action="store_true", help="skip the k x expansion sweep")
    parser.add_argument("--epochs", type=positive, default=None, help="SAE training epochs (default: automatic)")
    parser.add_argument(
        "--no-grounding", action="store_true", help="skip attribution + GO enrichment of every method's components"
    )
    parser.add_argument(
        "--grounding-draws",
        type=positive,
        default=None,
        help="draws of random directions behind the grounding's chance level (default: 5)",
    )
    parser.add_argument("--labels-key", default=None, help="obs column of cell types (default: the run's)")
    parser.add_argument(
        "--cross-dataset",
        metavar="NAME|FILE",
        default=None,
        help="a second dataset (bundled name or file) embedded by the run's model for stability across datasets",
    )
    add_device_argument(parser)
    add_cluster_arguments(parser)
    parser.set_defaults(func=_handle)


def _handle(args: argparse.Namespace) -> int:
    from scconcepts.cli._run_tokens import TOKENS_DIR
    from scconcepts.distributed import dask_client
    from scconcepts.evaluation import to_jsonable
    from scconcepts.report import REPORT_HTML, refresh_report
    from scconcepts.results import (
        EVALUATION_JSON,
        MODEL_DIR,
        RESULTS_H5AD,
        read_results,
        update_results_folder,
        write_concepts_csv,
    )
    from scconcepts.tl._evaluate import evaluate, evaluation_key

    folder = Path(args.folder)
    device = device_of(args)
    tokens = _token_run(folder, args)
    with update_results_folder(folder) as staging:  # evaluation, cells, table and report change together
        adata = read_results(folder)
        if args.labels_key is not None and args.labels_key not in adata.obs:
            columns = ", ".join(repr(str(c)) for c in adata.obs.columns) or "none"
            raise InputError(
                f"--labels-key {args.labels_key!r} is not a column of the results' obs; columns: {columns}"
            )
        options: dict = {"device": device} if args.epochs is None else {"epochs": args.epochs, "device": device}
        if args.grounding_draws is not None:
            options["grounding_draws"] = args.grounding_draws
        if args.cross_dataset is not None:
            with step("reading the second dataset"):
                options["other"], options["other_name"] = _second_dataset(args.cross_dataset)
        if tokens:
            options["store"] = folder / TOKENS_DIR
        elif not args.no_grounding or args.cross_dataset is not None:
            from scconcepts.models import load_encoder

            with step("loading the model"):
                options["encoder"] = load_encoder(folder / MODEL_DIR).to(device)
        with dask_client(scheduler=args.scheduler, workers=args.workers) as client:
            with step("evaluating the concepts against the baselines"):
                result = evaluate(
                    adata,
                    seeds=tuple(range(args.seeds)),
                    labels_key=args.labels_key,
                    run_sweep=not args.no_sweep,
                    grounding=not (args.no_grounding or tokens),
                    client=client,
                    **options,
                )
        with step("writing the results"):
            text = json.dumps(to_jsonable(result), indent=2)
            (staging / EVALUATION_JSON).write_text(text, encoding="utf-8")
            if "concepts_explanation" in result:  # per-concept explanation scores joined the concept table
                adata.uns.pop(evaluation_key("concepts"), None)  # evaluation.json holds it; keep results.h5ad lean
                adata.write_h5ad(staging / RESULTS_H5AD)
                write_concepts_csv(adata, staging)
        with step("rewriting the report"):
            refresh_report(folder, staging)
    print(evaluation_text(result))
    print(f"evaluation written to {folder / EVALUATION_JSON}")
    if (folder / REPORT_HTML).is_file():
        print(f"report updated: {folder / REPORT_HTML}")
    return 0


def _token_run(folder: Path, args: argparse.Namespace) -> bool:
    """Whether the folder is a ``run --tokens`` one (its manifest says so); refuses what a token run cannot measure."""
    from scconcepts.results import read_manifest

    if not read_manifest(folder).get("tokens"):
        return False
    if args.cross_dataset is not None:
        raise InputError("--cross-dataset is not measured for a token run (its concepts are read from gene tokens)")
    if not args.no_grounding:
        logger.info("token run: grounding is not measured on gene tokens (as with --no-grounding)")
    return True


def _with_chance(table: Any, metric: str) -> Any:
    """One column of ``table`` as text, each value beside its chance level when it has one."""
    values = table[metric].map(lambda v: f"{v:.3f}")
    if f"{metric}_chance" in table:
        chance = table[f"{metric}_chance"].map(lambda v: f" ({v:.3f})")
        values = values + chance
    return values


def evaluation_text(result: dict[str, Any]) -> str:
    """The evaluation as text: every metric beside its chance level in parentheses, then stability."""
    import pandas as pd

    from scconcepts.tl._evaluate import METRICS

    table = result["table"]
    shown = pd.DataFrame({m: _with_chance(table, m) for m in METRICS if m in table and table[m].notna().any()})
    for metric in ("grounding", "grounding_specific", "grounding_distinct"):
        if f"{metric}_pvalue" in table and table[f"{metric}_pvalue"].notna().any():
            shown[f"{metric} excess (p)"] = [
                f"{e:+.3f} ({p:.2g})" for e, p in zip(table[f"{metric}_excess"], table[f"{metric}_pvalue"], strict=True)
            ]
    lines = ["metric (chance level: labels permuted, random gene sets, random directions)", shown.to_string()]
    if "selectivity" in result:
        lines += [selectivity_text(result["selectivity"])]
    cross = result["cross_dataset"].get("methods", {})
    for name, measures in (("stability across seeds", result["stability"]), ("across datasets", cross)):
        if measures:
            pairs = (
                f"{m} {v['matched_cosine']:.3f} ({v['reproduced']:.0%} > 0.9)"
                + (
                    f" [random atoms {v['matched_cosine_chance']:.3f}, {v['reproduced_chance']:.0%}]"
                    if "matched_cosine_chance" in v
                    else ""
                )
                for m, v in measures.items()
            )
            lines.append(f"{name} (matched cosine, share reproduced): " + ", ".join(pairs))
    return "\n".join(lines)


def selectivity_text(selectivity: dict[str, Any]) -> str:
    """Per label the best component's AUROC of each method, the concepts' chance level beside them."""
    table = selectivity["table"]
    methods = [c for c in table.columns if c != "n_cells" and not c.endswith("_chance")]
    shown = table[["n_cells", *methods]].copy()
    mean = selectivity["mean"]
    shown.loc["mean"] = [float("nan")] + [mean[m] for m in methods]
    for m in methods:
        shown[m] = shown[m].map(lambda v: f"{v:.3f}")
    shown["n_cells"] = shown["n_cells"].map(lambda v: "" if v != v else str(int(v)))
    return (
        "selectivity: per label the best single component's AUROC (neurons, PCs, ICs, dictionary atoms in either "
        "sign; sae: evaluation SAEs, run: the run's concepts; chance: the concepts' best AUROC, labels permuted)\n"
        + shown.to_string()
    )


def _second_dataset(value: str) -> tuple[AnnData, str]:
    """The dataset ``--cross-dataset`` names: a bundled one, else a file."""
    from scconcepts import ds

    if value not in ds.DATASETS and not Path(value).exists():
        raise InputError(
            f"--cross-dataset {value!r} is neither a bundled dataset ({', '.join(ds.DATASETS)}) nor an existing file"
        )
    other, name = (ds.load_dataset(value), value) if value in ds.DATASETS else (ds.read(value), Path(value).name)
    other.obsm.clear()  # embeddings stored with the file may come from another model: re-embed with the run's
    return other, name
