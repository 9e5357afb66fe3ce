"""Plot of a ``tl.steer`` result: the genes moved most, beside the null of random directions of the same norm."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from anndata import AnnData

from scconcepts._errors import InputError
from scconcepts._keys import steering_key


def steering(
    adata: AnnData,
    *,
    key: str = "concepts",
    n_genes: int = 10,
    ax: Any = None,
    show: bool | None = None,
    save: str | Path | None = None,
) -> Any:
    """Horizontal bars of the log2 fold changes of the genes the steering lowers and raises most.

    Genes beyond the null are coloured (blue raised, red lowered); the grey band spans ± the median
    95th percentile of |log2 FC| under random directions of the same norm (the chance level).

    Parameters
    ----------
    adata
        Data steered by :func:`scconcepts.tl.steer` (``uns["<key>_steering"]``).
    key
        Stem of the concept keys.
    n_genes
        Genes shown in each direction.
    ax
        Matplotlib axes to draw on; a new figure when ``None``.
    show
        Show the figure (default: only when no ``ax`` was given and matplotlib is interactive).
    save
        File to save the figure to.

    Returns
    -------
    The axes.

    """
    import matplotlib.pyplot as plt

    result = adata.uns.get(steering_key(key))
    if result is None:
        raise InputError(f"uns[{steering_key(key)!r}] not found; run scconcepts.tl.steer first")
    genes = result.get("genes")
    if not isinstance(genes, pd.DataFrame) or genes.empty:
        raise InputError("the steering was not decoded to expression (embedding only); nothing to plot")
    shown = pd.concat([genes.nsmallest(n_genes, "lfc"), genes.nlargest(n_genes, "lfc")]).drop_duplicates("gene")
    shown = shown.sort_values("lfc", kind="stable")
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 0.22 * len(shown) + 1.2))
        show = plt.isinteractive() if show is None else show
    colours = [
        "#2563eb" if (b and v > 0) else "#dc2626" if b else "#9ca3af"
        for b, v in zip(shown["beyond_null"].astype(bool), shown["lfc"], strict=True)
    ]
    ax.barh(range(len(shown)), shown["lfc"], color=colours)
    band = float(genes["null_abs_lfc"].median())
    ax.axvspan(-band, band, color="#e5e7eb", zorder=0, label=f"random direction (95%: ±{band:.2g})")
    ax.set_yticks(range(len(shown)), list(shown["gene"]))
    ax.axvline(0, color="#374151", linewidth=0.8)
    ax.set_xlabel("log2 fold change, steered vs original")
    ax.set_title(f"concept {result['concept']} {result['value']} in {result['cells']} ({result['n_cells']} cells)")
    ax.legend(fontsize="small", loc="lower right")
    if save is not None:
        ax.figure.savefig(save, bbox_inches="tight")
    if show:
        plt.show()
    return ax
