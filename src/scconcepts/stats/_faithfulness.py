"""The faithfulness rule, read the same way by the pipeline, the explorer and the report.

A concept's deletion falls (``fall_*`` columns of its table, from :func:`scconcepts.tl.faithfulness`) say how far
it drops in its top cells when a gene set is set to its baseline together. Its attributed genes are *faithful*
when they lower it at least as far as its DE genes do and further than random genes (mean + :data:`N_SD` sd).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

#: Columns of the concept table holding the falls and the verdict.
COLUMNS = ("fall_attributed", "fall_de", "fall_random", "fall_random_sd", "faithful")
#: Falls closer than this count as equal (e.g. two sets that differ only in genes the model does not read).
TIE = 1e-3
#: Spreads of the random falls by which the attributed fall must exceed their mean.
N_SD = 2


def beats(frame: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Per concept: whether its attributed genes fall at least as far as its DE genes, and beyond random.

    "At least as far as DE" allows :data:`TIE`; "beyond random" is above the random draws' mean + :data:`N_SD`
    sd. A concept without falls (NaN, e.g. no active cell) is neither.
    """

    def column(name: str) -> pd.Series:
        return pd.to_numeric(frame[name], errors="coerce")

    attributed = column("fall_attributed")  # comparisons with NaN are False
    chance = column("fall_random") + N_SD * column("fall_random_sd")
    return attributed >= column("fall_de") - TIE, attributed > chance


def faithfulness_summary(table: pd.DataFrame) -> dict[str, Any] | None:
    """Shares of measured concepts whose attributed genes beat DE, beat random, and both (``None`` if unmeasured).

    Also the median falls. Measured concepts are those with a ``fall_attributed`` value.
    """
    if not set(COLUMNS[:4]) <= set(table.columns):
        return None
    measured = table[pd.to_numeric(table["fall_attributed"], errors="coerce").notna()]
    if measured.empty:
        return None
    beats_de, beats_random = beats(measured)
    return {
        "n_concepts": len(measured),
        "share_beats_de": float(beats_de.mean()),
        "share_beats_random": float(beats_random.mean()),
        "share_faithful": float((beats_de & beats_random).mean()),
        **{f"median_{name}": float(pd.to_numeric(measured[name]).median()) for name in COLUMNS[:3]},
    }
