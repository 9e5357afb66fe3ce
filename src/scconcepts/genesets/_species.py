"""Which species the data's genes belong to, when the user does not say: mouse-style symbols mean mouse.

Mouse gene symbols are written capitalised then lower case (``Cd3e``, ``Actb``, ``Cd79a``); human ones
in capitals (``CD3E``, ``ACTB``). When most of the data's symbols (in ``var_names`` or a usual symbol
column of ``var``) are written the mouse way, the genes are taken as mouse and matched to the human
gene sets by case-insensitive symbol (an approximation of orthology), with one log line saying so
and how to override it (``--species human``, ``species="human"``); otherwise they are human.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

import pandas as pd

from scconcepts.genesets._ids import VAR_ID_COLUMNS

logger = logging.getLogger(__name__)

#: The value of ``species`` (``None`` too) that asks for detection.
AUTO = "auto"
#: Species that can be given.
SPECIES = ("human", "mouse")

_SAMPLE = 2000


def _mouse_style(name: str) -> bool:
    """``Cd3e``, ``Gm12345``, ``1700001C19Rik``: the first letter upper case, some letter after it lower case."""
    letters = re.sub(r"[^A-Za-z]", "", name.replace("orf", ""))  # human C1orf112 keeps its lower-case "orf"
    return len(letters) > 1 and letters[0].isupper() and letters[1:] != letters[1:].upper()


def looks_mouse(names: Sequence[str]) -> bool:
    """Whether most of ``names`` that hold a letter are written as mouse symbols (``Cd3e``, not ``CD3E``)."""
    lettered = [str(n) for n in list(names)[:_SAMPLE] if re.search("[A-Za-z]", str(n))]
    return bool(lettered) and sum(map(_mouse_style, lettered)) > len(lettered) / 2


def _symbol_lists(var_names: Sequence[str], var: pd.DataFrame | None, gene_symbols: str | None) -> list[list[str]]:
    if gene_symbols is not None:
        present = var is not None and gene_symbols in var.columns
        return [list(var[gene_symbols].astype(str)[:_SAMPLE])] if present else []
    lists = [[str(n) for n in list(var_names)[:_SAMPLE]]]
    if var is not None:
        lists += [list(var[c].astype(str)[:_SAMPLE]) for c in VAR_ID_COLUMNS if c in var.columns]
    return lists


def resolve_species(
    species: str | None,
    var_names: Sequence[str],
    *,
    var: pd.DataFrame | None = None,
    gene_symbols: str | None = None,
) -> str:
    """Return ``species``, or for ``None``/``"auto"`` the species the gene symbols look like (see the module).

    Parameters
    ----------
    species
        ``"human"``, ``"mouse"`` (returned as they are), or ``None``/``"auto"`` to detect.
    var_names
        The data's gene identifiers.
    var
        The data's ``var`` table (its usual symbol columns are looked at too).
    gene_symbols
        The ``var`` column the user named as holding symbols: only it is looked at.

    Returns
    -------
    ``"human"`` or ``"mouse"``. Detecting mouse logs one line saying so.

    """
    if species is not None and str(species).lower() != AUTO:
        return str(species).lower()  # an unknown value is refused with the choices where genes are matched
    for names in _symbol_lists(var_names, var, gene_symbols):
        if looks_mouse(names):
            examples = ", ".join(list(dict.fromkeys(n for n in names if _mouse_style(n)))[:3])
            logger.info(
                "gene symbols look like mouse (e.g. %s): matched to the human gene sets by case-insensitive symbol, "
                "an approximation of orthology; pass --species human (species='human') to override",
                examples,
            )
            return "mouse"
    return "human"
