"""``scconcepts apply DIR --input NEW.h5ad --out DIR2``: the run's concepts on new cells, without retraining."""

from __future__ import annotations

import argparse
import json
import logging
import shutil
from pathlib import Path

from scconcepts._errors import InputError
from scconcepts.cli._common import add_device_argument, check_run_models, device_of, load_run_models, positive
from scconcepts.cli._failure import step
from scconcepts.results import (
    METRICS_JSON,
    MODEL_DIR,
    RESULTS_H5AD,
    SAE_DIR,
    check_path,
    new_results_folder,
    read_manifest,
    read_results,
    write_concepts_csv,
)

logger = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``apply`` subcommand."""
    parser = subparsers.add_parser("apply", help="encode new cells with a run's model and SAE (no retraining)")
    parser.add_argument("folder", metavar="DIR", help="results folder written by `scconcepts run`")
    parser.add_argument("--input", required=True, metavar="FILE", help="new cells: .h5ad, .zarr, 10x .h5, mtx, CSV")
    parser.add_argument("--out", required=True, metavar="DIR2", help="results folder to create for the new cells")
    parser.add_argument("--labels-key", help="obs column of the new cells' types (default: the run's)")
    parser.add_argument(
        "--query-epochs", type=positive, default=100, help="scVI, new batches: query-mapping epochs (default: 100)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace the results of an earlier apply in --out")
    add_device_argument(parser)
    parser.set_defaults(func=apply_command)


def apply_folder(
    folder: str | Path,
    cells: str | Path,
    out: str | Path,
    *,
    key: str = "concepts",
    labels_key: str | None = None,
    query_epochs: int = 100,
    overwrite: bool = False,
    device: str = "cpu",
) -> Path:
    """Apply the run in ``folder`` to the cells in ``cells`` and write a results folder ``out``.

    ``out`` holds ``results.h5ad`` (the new cells' embedding, activations, map placement and the run's
    labels), ``concepts.csv``, ``metrics.json``, the model and the SAE (so the explorer, ``report`` and
    ``steer`` work on it) and ``report.html``. Nothing is written if any step fails. The model and the SAE
    run on ``device`` (a torch device name, or ``auto``), checked before the cells are read.
    """
    from scconcepts import ds, tl
    from scconcepts._device import resolve_device
    from scconcepts.report import write_report
    from scconcepts.tl._concept_model import refuse_token_run

    device = str(resolve_device(device))  # a GPU asked for but absent is refused before the cells are read
    folder = Path(folder)
    refuse_token_run(read_manifest(folder), "apply")
    check_run_models(folder)
    out = check_path(out, "--out")
    if out.resolve() == folder.resolve():
        raise InputError("--out must differ from the run's folder; choose a new folder for the new cells")
    with step("reading the cells"):
        adata = ds.read(cells)
    if adata.n_obs == 0:
        raise InputError(f"{cells} holds no cells; give at least one cell")
    with step("loading the run"):
        reference = read_results(folder)
        encoder, sae = load_run_models(folder, device=device)
    info = {"command": "apply", "run": str(folder.resolve()), "input": str(cells), "model": encoder.name}
    with new_results_folder(out, overwrite=overwrite, info=info) as tmp:
        with step("applying the model and the SAE"):
            used = tl.apply(adata, encoder=encoder, sae=sae, key=key, reference=reference, labels_key=labels_key,
                            query_epochs=query_epochs)  # fmt: skip
        with step("writing the results"):
            used.save(tmp / MODEL_DIR)
            shutil.copytree(folder / SAE_DIR, tmp / SAE_DIR)
            if "X_umap" not in adata.obsm:
                from scconcepts.cli._run import compute_umap

                compute_umap(adata, adata.uns[key]["params"]["use_rep"])
            write_concepts_csv(adata, tmp, key=key)
            metrics = {k: float(v) for k, v in adata.uns[key]["metrics"].items()}
            metrics.update(n_cells=int(adata.n_obs), applied=True)
            (tmp / METRICS_JSON).write_text(json.dumps(metrics, indent=2))
            adata.write_h5ad(tmp / RESULTS_H5AD)
        with step("writing the report"):
            write_report(out, staging=tmp, new_run=True)
    return Path(out).resolve()


def apply_command(args: argparse.Namespace) -> int:
    """Run ``scconcepts apply``."""
    device = device_of(args)  # a GPU asked for but absent is refused before the cells are read
    out = apply_folder(
        args.folder,
        args.input,
        args.out,
        labels_key=args.labels_key,
        query_epochs=args.query_epochs,
        overwrite=args.overwrite,
        device=device,
    )
    logger.info("concepts of %s applied; results in %s (open with: scconcepts serve %s)", args.folder, out, out)
    return 0
