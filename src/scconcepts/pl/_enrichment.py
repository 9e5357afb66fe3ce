"""``pl.enrichment``: dot plot of the best enrichment terms of some concepts."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from anndata import AnnData

from scconcepts._errors import InputError
from scconcepts._keys import DEFAULT_KEY, enrichment_key
from scconcepts.pl._figure import axes, finish
from scconcepts.tl._concepts_to_obs import concept_ids


def _best_terms(table: pd.DataFrame, ids: list[int], n_terms: int, ranking: str) -> pd.DataFrame:
    """Each concept's ``n_terms`` best terms, as :func:`~scconcepts.genesets.concept_terms` defines terms."""
    from scconcepts.genesets import concept_terms

    terms = concept_terms(table, rankings=(ranking,))
    terms = terms[terms["concept"].astype(int).isin(ids)]
    return terms.groupby("concept", sort=False).head(n_terms)


def enrichment(
    adata: AnnData,
    *,
    concepts: Sequence[int | str] | int | str | None = None,
    key: str = DEFAULT_KEY,
    n_terms: int = 3,
    ranking: str = "attribution",
    ax: Any = None,
    show: bool | None = None,
    save: str | Path | None = None,
) -> Any:
    """Dot plot: concepts (columns) x their best enriched terms (rows); dot size -log10 adj. p, colour the score.

    Per concept its ``n_terms`` best terms as :func:`~scconcepts.genesets.concept_terms` defines them
    (enriched in ``ranking``, FDR < 0.05, kept by ``elim``, no near-duplicates); each term is also shown
    for the other concepts.

    Parameters
    ----------
    adata
        Data after :func:`scconcepts.tl.enrich`.
    concepts
        Concept ids (default: the first 10 with a term).
    key
        Stem of the concept keys.
    n_terms
        Terms per concept.
    ranking
        Gene ranking the enrichment was computed on: ``"attribution"`` or ``"de"``.
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
    e_key = enrichment_key(key)
    if e_key not in adata.uns:
        raise InputError(f"uns[{e_key!r}] not found; run scconcepts.tl.enrich first")
    table = pd.DataFrame(adata.uns[e_key])
    if concepts is None:
        chosen = _best_terms(table, sorted(table["concept"].astype(int).unique()), 1, ranking)
        ids = sorted(chosen["concept"].astype(int).unique())[:10]
    else:
        ids = concept_ids(adata, concepts, key=key)
    best = _best_terms(table, ids, n_terms, ranking)
    if best.empty:
        raise InputError(f"no term (enriched in the {ranking} ranking, FDR < 0.05, kept by elim) for concepts {ids}")
    terms = list(dict.fromkeys(best["term"].astype(str)))
    cells = table[table["term"].astype(str).isin(terms) & table["concept"].astype(int).isin(ids)]
    if "ranking" in cells:
        cells = cells[cells["ranking"] == ranking]
    cells = cells.sort_values("padj").drop_duplicates(["concept", "term"])
    x = cells["concept"].astype(int).map({c: i for i, c in enumerate(ids)}).to_numpy()
    y = cells["term"].astype(str).map({t: i for i, t in enumerate(terms)}).to_numpy()
    strength = -np.log10(np.clip(cells["padj"].to_numpy(dtype=float), 1e-300, 1))
    ax, own = axes(ax, (1.0 + 0.55 * len(ids) + 3.5, 0.9 + 0.32 * len(terms)))
    top = max(float(strength.max()), 1e-9)
    dots = ax.scatter(x, y, s=20 + 180 * strength / top, c=cells["score"].to_numpy(dtype=float), cmap="RdBu_r",
                      vmin=-np.abs(cells["score"]).max(), vmax=np.abs(cells["score"]).max(), edgecolors="#52525b",
                      linewidths=0.4)  # fmt: skip
    ax.set_xticks(range(len(ids)), [str(c) for c in ids])
    ax.set_yticks(range(len(terms)), ["\n".join(textwrap.wrap(t, 45)) for t in terms], fontsize="small")
    ax.set_xlim(-0.6, len(ids) - 0.4)
    ax.set_ylim(len(terms) - 0.5, -0.5)
    ax.set_xlabel("concept")
    ax.set_title(f"enriched terms ({ranking} ranking); size: -log10 adj. p (max {top:.1f})", fontsize="small")
    ax.figure.colorbar(dots, ax=ax, shrink=0.6, label="enrichment score")
    return finish(ax.figure, ax, own=own, show=show, save=save)
