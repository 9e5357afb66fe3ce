"""A collection of gene sets, optionally with the ontology DAG that relates its terms."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse

from scconcepts._errors import InputError
from scconcepts.genesets._ids import normalise_ids

logger = logging.getLogger(__name__)

DEFAULT_MIN_SIZE = 15
DEFAULT_MAX_SIZE = 500


@dataclass(frozen=True)
class GeneSets:
    """Named gene sets from one source (a GMT file, a bundled library or GO with its DAG).

    Parameters
    ----------
    source
        Name of the source, e.g. ``"go_bp"`` or ``"KEGG_2021_Human"``; it names the rows of the
        enrichment table.
    term_ids
        Identifier of each term (``GO:0006955``, or the name where the source has no identifiers).
    names
        Human-readable name of each term.
    genes
        Member genes of each term (symbols or Ensembl ids as the source gives them).
    parents
        For ontologies: term id -> ids of its direct parents (``is_a`` / ``part_of``). Members of a
        child must be members of its parents (annotations propagated up the DAG). ``None`` when the
        source has no structure.

    """

    source: str
    term_ids: tuple[str, ...]
    names: tuple[str, ...]
    genes: tuple[tuple[str, ...], ...]
    parents: Mapping[str, tuple[str, ...]] | None = None
    _index: dict[str, int] = field(default_factory=dict, init=False, repr=False, compare=False)
    _keys: list[list[str]] = field(default_factory=list, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not (len(self.term_ids) == len(self.names) == len(self.genes)):
            raise InputError(f"gene sets {self.source}: term_ids, names and genes must have the same length")
        self._index.update({term: i for i, term in enumerate(self.term_ids)})
        if len(self._index) != len(self.term_ids):
            raise InputError(f"gene sets {self.source}: term identifiers must be unique")

    @classmethod
    def from_dict(cls, source: str, sets: Mapping[str, Sequence[str]], *, names: Mapping[str, str] | None = None):
        """Build gene sets from ``{term_id: genes}`` (and optionally ``{term_id: name}``)."""
        ids = tuple(sets)
        return cls(
            source=source,
            term_ids=ids,
            names=tuple((names or {}).get(term, term) for term in ids),
            genes=tuple(tuple(dict.fromkeys(sets[term])) for term in ids),
        )

    def __len__(self) -> int:
        return len(self.term_ids)

    @property
    def has_dag(self) -> bool:
        """Whether the source carries an ontology DAG (then ``elim`` can run on it)."""
        return self.parents is not None

    def name_of(self, term_id: str) -> str:
        """Return the readable name of ``term_id``."""
        return self.names[self._index[term_id]]

    def to_dict(self) -> dict[str, list[str]]:
        """Return ``{term_id: genes}``."""
        return {term: list(genes) for term, genes in zip(self.term_ids, self.genes, strict=True)}

    def to_frame(self) -> pd.DataFrame:
        """Return the long ``source``/``target`` table (decoupler's ``net`` layout) with term ids as sources."""
        rows = [(term, gene) for term, genes in zip(self.term_ids, self.genes, strict=True) for gene in genes]
        net = pd.DataFrame(rows, columns=["source", "target"])
        net["weight"] = 1.0
        return net

    def keys(self) -> list[list[str]]:
        """Return the normalised identifiers of each set's genes (computed once)."""
        if not self._keys:
            self._keys.extend(normalise_ids(genes) for genes in self.genes)
        return self._keys

    def genes_of(self, term_id: str) -> list[str]:
        """Return the normalised identifiers of one term's genes (``KeyError`` for an unknown term)."""
        return self.keys()[self._index[term_id]]

    def members(self) -> set[str]:
        """Return the normalised identifiers of all genes in any set."""
        return {gene for genes in self.keys() for gene in genes}

    def membership(
        self,
        universe: Sequence[str],
        *,
        min_size: int = DEFAULT_MIN_SIZE,
        max_size: int = DEFAULT_MAX_SIZE,
    ) -> tuple[sparse.csc_matrix, np.ndarray]:
        """Return the genes x terms 0/1 matrix over ``universe`` and the indices of the terms kept.

        Only genes of ``universe`` count (the background); a term is kept when it has between
        ``min_size`` and ``max_size`` members there.

        Parameters
        ----------
        universe
            Normalised gene keys of the background, one per row of the returned matrix (repeats allowed).
        min_size, max_size
            Size filter on the members inside the background.

        """
        if min_size < 1 or max_size < min_size:
            raise InputError(f"need 1 <= min_size <= max_size, got min_size={min_size}, max_size={max_size}")
        rows_of: dict[str, list[int]] = {}
        for row, key in enumerate(universe):
            rows_of.setdefault(key, []).append(row)
        indptr, indices, kept = [0], [], []
        for j, keys in enumerate(self.keys()):
            rows = sorted({row for key in keys for row in rows_of.get(key, ())})
            if min_size <= len(rows) <= max_size:
                indices.extend(rows)
                indptr.append(len(indices))
                kept.append(j)
        data = np.ones(len(indices), dtype=np.float64)
        matrix = sparse.csc_matrix(
            (data, np.asarray(indices, dtype=np.int64), indptr), shape=(len(universe), len(kept))
        )
        logger.debug(
            "%s: %d of %d terms have %d-%d genes in the background",
            self.source,
            len(kept),
            len(self),
            min_size,
            max_size,
        )
        return matrix, np.asarray(kept, dtype=np.int64)
