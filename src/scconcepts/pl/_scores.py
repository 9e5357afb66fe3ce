"""``pl.concept_scores``: per-concept quality scores of the concept table (reproducibility, explanation)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from anndata import AnnData

from scconcepts._errors import InputError
from scconcepts._keys import DEFAULT_KEY
from scconcepts.pl._figure import concept_table, finish

#: What each score means and what its chance level is, where the score's definition fixes one.
SCORES = {
    "reproducibility": ("reproducibility across seeds (matched cosine)", None),
    "explanation_auroc": ("explanation AUROC (predicting activity from the label's genes)", 0.5),
}
WHERE = "concept reproducibility over seeds and the explanation score (scconcepts evaluate / train_sae consensus)"


def concept_scores(
    adata: AnnData,
    *,
    scores: Sequence[str] = ("reproducibility", "explanation_auroc"),
    key: str = DEFAULT_KEY,
    ax: Any = None,
    show: bool | None = None,
    save: str | Path | None = None,
) -> Any:
    """One panel per score: every concept's value, sorted, with the chance level drawn where it is known.

    Parameters
    ----------
    adata
        Data whose concept table (``uns[<key>]["table"]``) holds the score columns.
    scores
        Columns to plot: ``reproducibility``, ``explanation_auroc`` or any numeric column of the table.
    key
        Stem of the concept keys.
    ax
        Axes to draw on (one score only); a new figure when ``None``.
    show
        Show the figure (default: when matplotlib is interactive and no ``ax`` was given).
    save
        File to save the figure to.

    Returns
    -------
    The axes (one per score), or ``None`` when shown.

    """
    import matplotlib.pyplot as plt

    table = concept_table(adata, key)
    scores = [scores] if isinstance(scores, str) else list(scores)
    missing = [s for s in scores if s not in table]
    if missing:
        raise InputError(f"the concept table has no column {missing}; they come from {WHERE}")
    own = ax is None
    if own:
        figure, panels = plt.subplots(1, len(scores), figsize=(4.2 * len(scores), 3.4), squeeze=False)
        panels = list(panels.ravel())
    elif len(scores) != 1:
        raise InputError(f"ax= draws one score; {len(scores)} were asked for")
    else:
        figure, panels = ax.figure, [ax]
    for score, panel in zip(scores, panels, strict=True):
        values = table[score].to_numpy(dtype=float)
        alive = ~table["dead"].to_numpy(dtype=bool) if "dead" in table else np.ones(len(values), dtype=bool)
        shown = np.sort(values[alive & np.isfinite(values)])[::-1]
        panel.bar(np.arange(shown.size), shown, width=1.0, color="#7c3aed")
        title, chance = SCORES.get(score, (score, None))
        if chance is not None:
            panel.axhline(chance, color="#dc2626", ls="--", lw=1, label=f"chance {chance:g}")
            panel.legend(fontsize="x-small")
        panel.set_xlabel(f"concepts, sorted ({shown.size} alive with a value)")
        panel.set_ylabel(score)
        panel.set_title(title, fontsize="small")
    result = panels[0] if len(panels) == 1 else panels
    return finish(figure, result, own=own, show=show, save=save)
