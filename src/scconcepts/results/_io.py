"""Read and write the AnnData of a results folder."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from scconcepts._errors import InputError
from scconcepts.results._folder import METRICS_JSON, RESULTS_H5AD, add_to_results, reading

if TYPE_CHECKING:
    from anndata import AnnData


def open_results_h5ad(folder: str | Path, **read_options: Any) -> AnnData:
    """Read ``results.h5ad`` of a results folder (in one consistent state); a missing or damaged file is an InputError.

    Parameters
    ----------
    folder
        Results folder written by ``scconcepts run``.
    **read_options
        Passed to :func:`anndata.read_h5ad` (e.g. ``backed="r"``).

    """
    import anndata as ad

    with reading(folder):
        path = Path(folder) / RESULTS_H5AD
        if not path.is_file():
            raise InputError(f"{path} is missing; rerun `scconcepts run --overwrite` to write the results folder")
        try:
            return ad.read_h5ad(path, **read_options)
        except Exception as error:  # h5py and anndata raise many types for a truncated or foreign file
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise InputError(
                f"{path} is damaged or not an AnnData file ({reason[:200]}); "
                "rerun `scconcepts run --overwrite` to rewrite it"
            ) from None


def read_results(folder: str | Path) -> AnnData:
    """Read ``results.h5ad`` of a results folder written by ``scconcepts run``."""
    return open_results_h5ad(folder)


def update_results(folder: str | Path, adata: AnnData) -> None:
    """Replace ``results.h5ad`` of a results folder atomically with ``adata``."""
    add_to_results(folder, RESULTS_H5AD, lambda tmp: adata.write_h5ad(tmp))


def read_metrics(folder: str | Path) -> dict[str, Any]:
    """``metrics.json`` of a results folder (``{}`` when absent); a damaged file is an InputError."""
    import json

    path = Path(folder) / METRICS_JSON
    if not path.is_file():
        return {}
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read {path}: {error}") from None
    except json.JSONDecodeError as error:
        raise InputError(
            f"{path} is damaged (line {error.lineno}, column {error.colno}: {error.msg}); "
            "restore it or rerun `scconcepts run --overwrite`"
        ) from None
    if not isinstance(metrics, dict):
        raise InputError(f"{path} is damaged (not a JSON object); restore it or rerun `scconcepts run --overwrite`")
    return metrics
