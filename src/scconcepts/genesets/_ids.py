"""Gene identifier harmonisation: symbols and Ensembl ids, case and version suffixes."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence

import pandas as pd

from scconcepts._errors import InputError

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


def _candidates(
    var_names: Sequence[str],
    var: pd.DataFrame | None,
    ensembl_to_symbol: Callable[[], Mapping[str, str]] | None,
) -> dict[str, list[str]]:
    out = {"var_names": normalise_ids(var_names)}
    if var is not None:
        for column in VAR_ID_COLUMNS:
            if column in var.columns:
                out[f"var[{column!r}]"] = normalise_ids(var[column].astype(str))
    if ensembl_to_symbol is not None:
        for label, keys in list(out.items()):
            if sum(map(is_ensembl, keys)) > len(keys) / 2:
                try:
                    table = ensembl_to_symbol()
                except InputError as error:
                    logger.debug("no Ensembl -> symbol table: %s", error)
                    break
                out[f"{label} as symbols"] = [normalise_id(table.get(key, key)) for key in keys]
    return out


def harmonise_genes(
    var_names: Sequence[str],
    members: set[str],
    *,
    var: pd.DataFrame | None = None,
    gene_symbols: str | None = None,
    ensembl_to_symbol: Callable[[], Mapping[str, str]] | None = None,
    source: str = "gene sets",
) -> list[str]:
    """Return, for each gene of the data, the key under which it matches the gene sets' members.

    Tries the gene names, the usual ``var`` columns (``gene_symbols``, ``feature_name``, ``gene_ids``...)
    and, for Ensembl ids, a mapping to symbols; keeps the one sharing most genes with the sets.
    Matching ignores case and Ensembl version suffixes.

    Parameters
    ----------
    var_names
        Gene identifiers of the data, in order.
    members
        Normalised identifiers of all genes in the gene sets (:meth:`GeneSets.members`).
    var
        The data's ``var`` table, for alternative identifier columns.
    gene_symbols
        A ``var`` column to use as is (skips the search).
    ensembl_to_symbol
        Callable returning an Ensembl -> symbol table, called only when the ids look like Ensembl.
    source
        Name of the gene sets, for messages.

    """
    if gene_symbols is not None:
        if var is None or gene_symbols not in var.columns:
            raise InputError(f"gene_symbols={gene_symbols!r} is not a column of adata.var; pass an existing column")
        return normalise_ids(var[gene_symbols].astype(str))
    candidates = _candidates(var_names, var, ensembl_to_symbol)
    overlap = {label: len(set(keys) & members) for label, keys in candidates.items()}
    best = max(overlap, key=lambda label: overlap[label])
    if overlap[best] == 0:
        raise InputError(
            f"no gene of the data matches {source} (tried {', '.join(candidates)}); "
            "pass gene_symbols=<var column with gene symbols> or gene sets that use the data's identifiers"
        )
    share = overlap[best] / max(len(set(candidates[best])), 1)
    level = logging.WARNING if share < 0.05 else logging.INFO
    logger.log(level, "%s: matched %d genes of the data through %s (%.0f%%)", source, overlap[best], best, 100 * share)
    return candidates[best]
