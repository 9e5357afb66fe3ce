"""Plots of ``tl.evaluate`` results: metrics per method with their spread, and the k x expansion sweep."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from anndata import AnnData

from scconcepts._errors import InputError

LABELS = {
    "r2": "held-out R²",
    "l0": "L0 (active per cell)",
    "dead_fraction": "dead fraction",
    "accuracy": "cell-type balanced accuracy",
    "purity": "top-cell purity",
    "ami": "top-cell AMI",
    "pure_share": "share ≥80% one type",
    "explanation_auroc": "explanation AUROC",
    "explanation_spearman": "explanation Spearman",
    "grounding": "GO grounding",
    "grounding_excess": "grounding excess over random directions",
}


def _evaluation(data: AnnData | dict[str, Any], key: str) -> dict[str, Any]:
    if isinstance(data, AnnData):
        name = f"{key}_evaluation"
        if name not in data.uns:
            raise InputError(f"uns[{name!r}] not found; run scconcepts.tl.evaluate first")
        return data.uns[name]
    return data


def evaluation(
    data: AnnData | dict[str, Any],
    *,
    key: str = "concepts",
    metrics: Sequence[str] = ("r2", "accuracy", "purity", "ami", "pure_share", "explanation_auroc"),
    ax: Any = None,
    show: bool | None = None,
) -> Any:
    """Bar chart, one group per metric, one bar per method (mean over seeds, error bars: standard deviation).

    A metric with a chance level (``<metric>_chance`` in the table: permuted labels, random gene sets,
    random directions) gets a black tick at that level across each bar.

    Parameters
    ----------
    data
        AnnData evaluated by :func:`scconcepts.tl.evaluate`, or the dict it returned.
    key
        Stem of the evaluated SAE run.
    metrics
        Columns of the evaluation table to show.
    ax
        Matplotlib axes to draw on; a new figure when ``None``.
    show
        Show the figure (default: only when no ``ax`` was given and matplotlib is interactive).

    Returns
    -------
    The axes.

    """
    import matplotlib.pyplot as plt
    import numpy as np

    table = _evaluation(data, key)["table"]
    if not isinstance(table, pd.DataFrame):
        table = pd.DataFrame(table).set_index("method")
    metrics = [m for m in metrics if m in table or m not in ("explanation_auroc",)]
    missing = [m for m in metrics if m not in table]
    if missing:
        raise InputError(f"metrics {missing} not in the evaluation; choose from {list(LABELS)}")
    if ax is None:
        _, ax = plt.subplots(figsize=(1.6 * len(metrics) + 2, 3.5))
        show = plt.isinteractive() if show is None else show
    width = 0.8 / len(table)
    positions = np.arange(len(metrics))
    for i, method in enumerate(table.index):
        means = [table.loc[method, m] for m in metrics]
        spreads = [table.loc[method, f"{m}_std"] for m in metrics]
        ax.bar(positions + i * width, means, width, yerr=spreads, capsize=2, label=str(method))
        chance = [table.loc[method, f"{m}_chance"] if f"{m}_chance" in table else np.nan for m in metrics]
        ax.hlines(chance, positions + i * width - width / 2, positions + i * width + width / 2, colors="black")
    ax.set_xticks(positions + 0.4 - width / 2)
    ax.set_xticklabels([LABELS.get(m, m) for m in metrics], rotation=20, ha="right")
    ax.legend(fontsize="small", ncols=2)
    ax.set_title("concepts vs baselines (mean ± s.d. over seeds; black ticks: chance level)")
    if show:
        plt.show()
    return ax


def sweep(
    data: AnnData | dict[str, Any],
    *,
    key: str = "concepts",
    metric: str = "r2",
    ax: Any = None,
    show: bool | None = None,
) -> Any:
    """Heat map of one sweep metric over k (rows) and expansion (columns); untrained points are blank."""
    import matplotlib.pyplot as plt
    import numpy as np

    frame = _evaluation(data, key)["sweep"]
    frame = frame if isinstance(frame, pd.DataFrame) else pd.DataFrame(frame)
    if frame.empty or metric not in frame:
        raise InputError(f"no sweep values for {metric!r}; run scconcepts.tl.evaluate with run_sweep=True")
    grid = frame.pivot_table(index="k", columns="expansion", values=metric)
    if ax is None:
        _, ax = plt.subplots(figsize=(1.2 * grid.shape[1] + 2, 1.0 * grid.shape[0] + 1.5))
        show = plt.isinteractive() if show is None else show
    image = ax.imshow(grid.to_numpy(dtype=float), cmap="viridis", aspect="auto")
    ax.set_xticks(range(grid.shape[1]), [str(c) for c in grid.columns])
    ax.set_yticks(range(grid.shape[0]), [str(r) for r in grid.index])
    ax.set_xlabel("expansion")
    ax.set_ylabel("k")
    for (row, col), value in np.ndenumerate(grid.to_numpy(dtype=float)):
        if np.isfinite(value):
            ax.text(col, row, f"{value:.3f}", ha="center", va="center", color="white", fontsize="small")
    ax.figure.colorbar(image, ax=ax, label=LABELS.get(metric, metric))
    if show:
        plt.show()
    return ax
