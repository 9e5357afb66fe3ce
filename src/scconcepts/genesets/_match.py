"""Can the data's genes be matched to the gene sets? Checked before any training, and again by enrichment.

The data's identifiers are tried as they are, from the usual ``var`` columns and, for Ensembl ids,
through the Ensembl -> symbol table; the candidate sharing most genes with the sets wins. The match
is *usable* when at least :data:`MIN_MATCH_RATE` of the data's genes are found and, for human gene
sets, when the names are not another species' symbols matched only by ignoring case (mouse ``Cd79a``
vs human ``CD79A``): that needs ``species="mouse"``, which says the match is a case-insensitive
symbol orthology, an approximation.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from scconcepts._errors import InputError
from scconcepts.genesets._ids import VAR_ID_COLUMNS, is_ensembl, normalise_id
from scconcepts.genesets._sets import GeneSets
from scconcepts.genesets._species import SPECIES, looks_mouse

logger = logging.getLogger(__name__)

#: Share of the data's genes that must be found in the gene sets for enrichment to run.
MIN_MATCH_RATE = 0.1
_PLACEHOLDER = re.compile(r"^(gene|genes|g|feature|features|var|f)[_\-.]?\d+$", re.IGNORECASE)
_VERSION = re.compile(r"^(ENS[A-Z]*G\d{6,})\.\d+$", re.IGNORECASE)


@dataclass(frozen=True)
class GeneMatch:
    """How the data's genes match one gene-set source.

    Attributes
    ----------
    source
        Name of the gene sets.
    keys
        Matching key of each gene of the data, in order (feed :meth:`GeneSets.membership`).
    n_genes, n_matched
        Distinct identifiers of the data, and how many of them the sets hold.
    through
        Where the identifiers came from (``var_names``, ``var['gene_symbols']``, ``... as symbols``).
    tried
        Every candidate that was tried.
    kind
        What the names look like: ``symbols``, ``mouse-style symbols``, ``Ensembl ids`` or
        ``placeholder names``; ``examples`` shows a few.
    case_folded
        Most matches needed case to be ignored (another species' symbols against human sets).
    species
        The species the genes are taken to be (given, or detected by
        :func:`~scconcepts.genesets._species.resolve_species`).

    """

    source: str
    keys: list[str] = field(repr=False)
    n_genes: int
    n_matched: int
    through: str
    tried: tuple[str, ...]
    kind: str
    examples: tuple[str, ...]
    case_folded: bool
    species: str = "human"
    min_rate: float = MIN_MATCH_RATE

    @property
    def rate(self) -> float:
        """Share of the data's distinct identifiers found in the gene sets."""
        return self.n_matched / max(self.n_genes, 1)

    @property
    def usable(self) -> bool:
        """Whether enrichment against these sets means something."""
        return self.rate >= self.min_rate and not (self.case_folded and self.species == "human")

    @property
    def reason(self) -> str:
        """Why the match is not usable, and what to do ("" when usable)."""
        examples = ", ".join(self.examples)
        head = f"{self.source}: {self.rate:.0%} of the data's genes ({self.n_matched} of {self.n_genes}) match"
        if self.rate < self.min_rate:
            return (
                f"{head} (tried {', '.join(self.tried)}; the names look like {self.kind}, e.g. {examples}); "
                "give a var column holding gene symbols (--gene-symbols COLUMN, gene_symbols=)"
            )
        if self.case_folded and self.species == "human":
            return (
                f"{head} only when case is ignored: the names look like {self.kind} (e.g. {examples}) and the sets "
                "hold human genes; pass --species mouse (species='mouse') to match them by case-insensitive "
                "symbol, an approximation of orthology"
            )
        return ""

    def summary(self) -> str:
        """One line for the log."""
        line = f"{self.source}: matched {self.n_matched} of {self.n_genes} genes ({self.rate:.0%}) via {self.through}"
        if self.case_folded:
            line += f"; {self.species} genes matched by case-insensitive symbol (an approximation of orthology)"
        return line


def looks_like(names: Sequence[str]) -> str:
    """Name what a list of gene identifiers looks like (for messages)."""
    names = [str(n) for n in names]
    if not names:
        return "nothing"
    n = len(names)
    if sum(bool(_PLACEHOLDER.match(x)) for x in names) > n / 2:
        return "placeholder names"
    if sum(is_ensembl(normalise_id(x)) for x in names) > n / 2:
        return "Ensembl ids"
    if looks_mouse(names):
        return "mouse-style symbols"
    return "symbols"


def _raw(values: Sequence[str]) -> list[str]:
    return [_VERSION.sub(r"\1", str(v).strip()) for v in values]


def _candidates(
    var_names: Sequence[str],
    var: pd.DataFrame | None,
    ensembl_to_symbol: Callable[[], Mapping[str, str]] | None,
) -> dict[str, list[str]]:
    """Raw identifier lists to try, by where they come from."""
    out = {"var_names": _raw(var_names)}
    if var is not None:
        for column in VAR_ID_COLUMNS:
            if column in var.columns:
                out[f"var[{column!r}]"] = _raw(var[column].astype(str))
    if ensembl_to_symbol is not None:
        for label, values in list(out.items()):
            keys = [normalise_id(v) for v in values]
            if sum(map(is_ensembl, keys)) > len(keys) / 2:
                try:
                    table = ensembl_to_symbol()
                except InputError as error:
                    logger.debug("no Ensembl -> symbol table: %s", error)
                    break
                out[f"{label} as symbols"] = [table.get(key, value) for key, value in zip(keys, values, strict=True)]
    return out


def match_genes(
    var_names: Sequence[str],
    sets: GeneSets | set[str],
    *,
    var: pd.DataFrame | None = None,
    gene_symbols: str | None = None,
    ensembl_to_symbol: Callable[[], Mapping[str, str]] | None = None,
    species: str = "human",
    min_rate: float = MIN_MATCH_RATE,
    source: str | None = None,
) -> GeneMatch:
    """Match the data's genes to a gene-set source and say how well (see the module docstring).

    Parameters
    ----------
    var_names
        Gene identifiers of the data, in order.
    sets
        The gene sets, or the normalised identifiers of all their members (then case cannot be checked).
    var
        The data's ``var`` table, for alternative identifier columns.
    gene_symbols
        A ``var`` column to use as is (skips the search).
    ensembl_to_symbol
        Callable returning an Ensembl -> symbol table, called only when the ids look like Ensembl.
    species
        ``"human"`` or ``"mouse"`` (mouse symbols matched to human sets by case-insensitive symbol).
    min_rate
        Share of the data's genes that must match for the match to be usable.
    source
        Name of the gene sets for messages (default the source of ``sets``).

    Raises
    ------
    InputError
        For an unknown species or a ``gene_symbols`` column that ``var`` lacks.

    """
    species = str(species).lower()
    if species not in SPECIES:
        raise InputError(f"species={species!r}: choose one of {', '.join(SPECIES)}")
    if isinstance(sets, GeneSets):
        members, exact = sets.members(), {g.strip() for genes in sets.genes for g in genes}
        source = source or sets.source
    else:
        members, exact = set(sets), None
        source = source or "gene sets"
    if gene_symbols is not None:
        if var is None or gene_symbols not in var.columns:
            raise InputError(f"gene symbols column {gene_symbols!r} is not in adata.var; pass an existing column")
        candidates = {f"var[{gene_symbols!r}]": _raw(var[gene_symbols].astype(str))}
    else:
        candidates = _candidates(var_names, var, ensembl_to_symbol)
    keys = {label: [normalise_id(v) for v in values] for label, values in candidates.items()}
    overlap = {label: len(set(k) & members) for label, k in keys.items()}
    best = max(overlap, key=lambda label: overlap[label])
    n_matched = overlap[best]
    case_folded = False
    if exact is not None and n_matched and not best.endswith("as symbols"):
        n_exact = len(set(candidates[best]) & exact)
        case_folded = n_exact < n_matched / 2
    raw = candidates[best]
    return GeneMatch(
        source=str(source),
        keys=keys[best],
        n_genes=len(set(keys[best])),
        n_matched=n_matched,
        through=best,
        tried=tuple(candidates),
        kind=looks_like(raw[:2000]),
        examples=tuple(dict.fromkeys(raw[:50]))[:3],
        case_folded=case_folded,
        species=species,
        min_rate=min_rate,
    )


def harmonise_genes(
    var_names: Sequence[str],
    members: GeneSets | set[str],
    *,
    var: pd.DataFrame | None = None,
    gene_symbols: str | None = None,
    ensembl_to_symbol: Callable[[], Mapping[str, str]] | None = None,
    species: str = "human",
    source: str | None = None,
) -> list[str]:
    """Return, for each gene of the data, the key under which it matches the gene sets' members.

    Tries the gene names, the usual ``var`` columns (``gene_symbols``, ``feature_name``, ``gene_ids``...)
    and, for Ensembl ids, a mapping to symbols; keeps the one sharing most genes with the sets.
    Matching ignores case and Ensembl version suffixes; see :func:`match_genes` for the parameters.

    Raises
    ------
    InputError
        When the match is not usable (:attr:`GeneMatch.reason` says why and what to pass).

    """
    match = match_genes(var_names, members, var=var, gene_symbols=gene_symbols, ensembl_to_symbol=ensembl_to_symbol,
                        species=species, source=source)  # fmt: skip
    if not match.usable:
        raise InputError(match.reason)
    logger.info("%s", match.summary())
    return match.keys
