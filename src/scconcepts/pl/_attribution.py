"""``pl.attribution``: a concept's signed attribution of every gene against its differential expression."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from anndata import AnnData

from scconcepts._errors import InputError
from scconcepts._keys import DEFAULT_KEY, attribution_key, de_key
from scconcepts.pl._figure import axes, concept_title, finish
from scconcepts.tl._concepts_to_obs import concept_ids


def _scores(adata: AnnData, name: str, cid: int, what: str) -> np.ndarray:
    if name not in adata.varm:
        raise InputError(f"varm[{name!r}] ({what}) not found; run scconcepts.tl.attribute first")
    return np.asarray(adata.varm[name])[:, cid].astype(float)


def attribution(
    adata: AnnData,
    *,
    concept: int | str,
    key: str = DEFAULT_KEY,
    n_genes: int = 8,
    ax: Any = None,
    show: bool | None = None,
    save: str | Path | None = None,
) -> Any:
    """Scatter every gene by its signed attribution (x) and its DE score (y) for one concept; the top genes named.

    Genes to the right cause the concept to fire when present (attribution > 0); genes high up are
    more expressed where it fires (DE, the correlational view). Genes far right but low show what
    attribution finds that DE does not, and the other way round.

    Parameters
    ----------
    adata
        Data after :func:`scconcepts.tl.attribute` (``varm["<key>_attribution"]`` and ``varm["<key>_de"]``).
    concept
        Concept id.
    key
        Stem of the concept keys.
    n_genes
        Genes named: the ``n_genes`` with the largest attribution and the ``n_genes`` with the largest DE.
    ax
        Axes to draw on; a new figure when ``None``.
    show
        Show the figure (default: when matplotlib is interactive and no ``ax`` was given).
    save
        File to save the figure to.

    Returns
    -------
    The axes, or ``None`` when shown.

    """
    (cid,) = concept_ids(adata, concept, key=key)
    attr = _scores(adata, attribution_key(key), cid, "attribution")
    de = _scores(adata, de_key(key), cid, "differential expression")
    ax, own = axes(ax, (5.2, 4.4))
    genes = np.asarray(adata.var_names).astype(str)
    top_attr = np.argsort(-attr, kind="stable")[:n_genes]
    top_de = np.argsort(-de, kind="stable")[:n_genes]
    named = np.union1d(top_attr, top_de)
    ax.scatter(attr, de, s=6, c="#a1a1aa", linewidths=0, rasterized=True)
    ax.scatter(attr[top_attr], de[top_attr], s=14, c="#2563eb", label=f"top {n_genes} by attribution")
    ax.scatter(attr[top_de], de[top_de], s=14, facecolors="none", edgecolors="#dc2626", label=f"top {n_genes} by DE")
    for g in named:
        ax.annotate(genes[g], (attr[g], de[g]), fontsize=7, xytext=(3, 2), textcoords="offset points")
    ax.axvline(0, color="#d4d4d8", lw=0.8, zorder=0)
    ax.axhline(0, color="#d4d4d8", lw=0.8, zorder=0)
    finite = np.isfinite(attr) & np.isfinite(de)
    if finite.sum() > 2:
        from scipy.stats import spearmanr

        rho = spearmanr(attr[finite], de[finite]).statistic
        ax.text(0.01, 0.99, f"Spearman {rho:.2f} over {finite.sum()} genes", transform=ax.transAxes, va="top",
                fontsize="small")  # fmt: skip
    ax.set_xlabel("attribution (signed)")
    ax.set_ylabel("differential expression (z)")
    ax.set_title(concept_title(adata, cid, key), fontsize="small")
    ax.legend(fontsize="x-small", loc="lower right")
    return finish(ax.figure, ax, own=own, show=show, save=save)
