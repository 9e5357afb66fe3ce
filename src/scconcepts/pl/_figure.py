"""What every plot of ``scc.pl`` shares: a figure or the caller's axes, then show and/or save it, scanpy-style."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from anndata import AnnData

from scconcepts._errors import InputError
from scconcepts._keys import params_key


def axes(ax: Any, figsize: tuple[float, float]) -> tuple[Any, bool]:
    """Return ``(ax, own)``: the caller's axes, or new ones on a new figure (``own`` is then ``True``)."""
    import matplotlib.pyplot as plt

    if ax is not None:
        return ax, False
    _, ax = plt.subplots(figsize=figsize)
    return ax, True


def finish(figure: Any, result: Any, *, own: bool, show: bool | None, save: str | Path | None) -> Any:
    """Save the figure to ``save`` (any matplotlib format), show it when asked, and return ``result``.

    ``show=None`` shows a figure the plot made itself when matplotlib is interactive; a shown figure
    returns ``None``, as in scanpy.
    """
    import matplotlib.pyplot as plt

    if save is not None:
        figure.savefig(save, bbox_inches="tight", dpi=150)
    if show is None:
        show = own and plt.isinteractive()
    if show:
        plt.show()
        return None
    return result


def concept_table(adata: AnnData, key: str) -> Any:
    """The concept table ``uns[<key>]["table"]`` (a clear error when the SAE was not trained)."""
    table = adata.uns.get(params_key(key), {}).get("table") if params_key(key) in adata.uns else None
    if table is None:
        raise InputError(f"uns[{params_key(key)!r}]['table'] not found; run scconcepts.tl.train_sae first")
    return table


def concept_title(adata: AnnData, cid: int, key: str) -> str:
    """``"concept 21: <label>"`` (the full automatic label, if any)."""
    try:
        table = concept_table(adata, key)
    except InputError:
        return f"concept {cid}"
    label = table["label"].get(str(cid), "") if "label" in table else ""
    return f"concept {cid}: {label}" if isinstance(label, str) and label else f"concept {cid}"
