"""``pl.concepts``: concept activations on a 2-D embedding, one panel per concept."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from anndata import AnnData

from scconcepts._errors import InputError
from scconcepts._keys import DEFAULT_KEY, activations_key
from scconcepts.pl._figure import concept_title, finish
from scconcepts.tl._concepts_to_obs import concept_ids


def concepts(
    adata: AnnData,
    *,
    concepts: Sequence[int | str] | int | str,
    basis: str = "umap",
    key: str = DEFAULT_KEY,
    ncols: int = 4,
    size: float | None = None,
    cmap: str = "viridis",
    ax: Any = None,
    show: bool | None = None,
    save: str | Path | None = None,
) -> Any:
    """Colour the cells of a 2-D embedding by the activation of each concept (silent cells grey, strongest on top).

    Parameters
    ----------
    adata
        Data with ``obsm["X_<key>"]`` and ``obsm["X_<basis>"]``.
    concepts
        Concept ids (``21``, ``"21"`` or ``"concept_21"``), one panel each.
    basis
        Embedding to draw on: ``obsm["X_<basis>"]`` (first two columns).
    key
        Stem of the concept keys.
    ncols
        Panels per row.
    size
        Marker size (default: from the number of cells).
    cmap
        Colour map of the activations.
    ax
        Axes to draw on (one concept only); a new figure when ``None``.
    show
        Show the figure (default: when matplotlib is interactive and no ``ax`` was given).
    save
        File to save the figure to.

    Returns
    -------
    The axes (one per concept), or ``None`` when shown.

    """
    import matplotlib.pyplot as plt

    ids = concept_ids(adata, concepts, key=key)
    b_key = basis if basis.startswith("X_") else f"X_{basis}"
    if b_key not in adata.obsm:
        raise InputError(f"obsm[{b_key!r}] not found; compute it (e.g. sc.tl.umap) or choose one of {list(adata.obsm)}")
    if ax is not None and len(ids) != 1:
        raise InputError(f"ax= draws one concept; {len(ids)} were asked for")
    xy = np.asarray(adata.obsm[b_key])[:, :2]
    activations = sp.csc_matrix(adata.obsm[activations_key(key)])
    size = size if size is not None else max(0.5, min(20.0, 12000 / max(adata.n_obs, 1)))
    own = ax is None
    if own:
        ncols = max(1, min(ncols, len(ids)))
        nrows = math.ceil(len(ids) / ncols)
        figure, grid = plt.subplots(nrows, ncols, figsize=(3.6 * ncols, 3.4 * nrows), squeeze=False)
        panels = list(grid.ravel())
        for extra in panels[len(ids) :]:
            extra.set_visible(False)
    else:
        figure, panels = ax.figure, [ax]
    for cid, panel in zip(ids, panels, strict=False):
        column = activations[:, cid]
        cells, values = column.indices, column.data
        order = np.argsort(values, kind="stable")
        panel.scatter(xy[:, 0], xy[:, 1], s=size, c="#d4d4d8", linewidths=0, rasterized=True)
        points = panel.scatter(
            xy[cells[order], 0], xy[cells[order], 1], s=size, c=values[order], cmap=cmap, linewidths=0, rasterized=True
        )
        panel.set_title("\n".join(textwrap.wrap(concept_title(adata, cid, key), 40)), fontsize="small")
        panel.set_xticks([])
        panel.set_yticks([])
        panel.set_xlabel(f"{basis.removeprefix('X_')}1", fontsize="small")
        panel.set_ylabel(f"{basis.removeprefix('X_')}2", fontsize="small")
        if cells.size:
            figure.colorbar(points, ax=panel, shrink=0.7, label="activation")
    result = panels[0] if len(panels) == 1 else panels[: len(ids)]
    return finish(figure, result, own=own, show=show, save=save)
