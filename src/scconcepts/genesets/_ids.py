"""Gene identifier harmonisation: symbols and Ensembl ids, case and version suffixes."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

logger = logging.getLogger(__name__)

_ENSEMBL = re.compile(r"^(ENS[A-Z]*G\d{6,})(\.\d+)?$")
#: ``var`` columns that commonly hold gene symbols or Ensembl ids.
VAR_ID_COLUMNS = (
    "gene_symbols",
    "gene_symbol",
    "feature_name",
    "gene_name",
    "symbol",
    "gene_ids",
    "gene_id",
    "ensembl_id",
)


def normalise_id(gene: str) -> str:
    """Return the matching key of one identifier: upper case, Ensembl version suffix removed."""
    key = str(gene).strip().upper()
    match = _ENSEMBL.match(key)
    return match.group(1) if match else key


def normalise_ids(genes: Iterable[str]) -> list[str]:
    """Return :func:`normalise_id` of each identifier."""
    return [normalise_id(gene) for gene in genes]


def is_ensembl(key: str) -> bool:
    """Whether a normalised key is an Ensembl gene id."""
    return _ENSEMBL.match(key) is not None
