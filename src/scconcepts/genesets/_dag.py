"""Walking an ontology DAG given as ``child -> parents``: depths and transitive ancestors."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import numpy as np

from scconcepts._errors import InputError


def _parents_first(parents: Mapping[str, tuple[str, ...]], terms: Sequence[str]) -> Iterator[str]:
    """Yield ``terms`` and all their ancestors once each, every term after all of its parents."""
    done: set[str] = set()
    for start in terms:
        stack = [(start, False)]
        on_path: set[str] = set()
        while stack:
            term, expanded = stack.pop()
            if expanded:
                on_path.discard(term)
                if term not in done:
                    done.add(term)
                    yield term
                continue
            if term in done:
                continue
            if term in on_path:
                raise InputError(f"the ontology has a cycle through {term}; pass a DAG")
            on_path.add(term)
            stack.append((term, True))
            stack.extend((p, False) for p in parents.get(term, ()) if p not in done)


def kept_ancestors(parents: Mapping[str, tuple[str, ...]], kept: Sequence[str]) -> list[np.ndarray]:
    """Return, for each term of ``kept``, the positions in ``kept`` of its ancestors (transitively).

    Ancestors reached through terms that are not kept still count, so a size filter that drops an
    intermediate term does not cut the DAG.
    """
    memo: dict[str, frozenset[str]] = {}
    for term in _parents_first(parents, kept):
        direct = parents.get(term, ())
        memo[term] = frozenset(direct).union(*(memo[p] for p in direct))
    position = {term: i for i, term in enumerate(kept)}
    return [np.fromiter(sorted(position[a] for a in memo[t] if a in position), dtype=np.int64) for t in kept]


def term_depths(parents: Mapping[str, tuple[str, ...]], terms: Sequence[str]) -> np.ndarray:
    """Return, for each of ``terms``, the length of the longest path up to a root (roots have depth 0)."""
    memo: dict[str, int] = {}
    for term in _parents_first(parents, terms):
        memo[term] = 1 + max((memo[p] for p in parents.get(term, ())), default=-1)
    return np.array([memo[t] for t in terms], dtype=np.int64)
