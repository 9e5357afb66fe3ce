"""topGO-style ``elim`` over an ontology DAG: a term explained by a significant descendant is not reported.

Terms are visited from the deepest level up. When a term is significant (p below ``cutoff``), its
genes are removed from every ancestor; an ancestor is then tested again with the genes it has left.
A parent significant only through its child thus loses those genes and its significance.
Reference: Alexa, Rahnenführer & Lengauer (2006), Bioinformatics 22:1600.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import numpy as np
from scipy import sparse

from scconcepts._progress import progress

logger = logging.getLogger(__name__)

#: ``retest(concept, term, gene_rows) -> p-value`` for a term reduced to ``gene_rows``.
Retest = Callable[[int, int, np.ndarray], float]


def set_rows(membership: sparse.spmatrix) -> list[np.ndarray]:
    """Return the gene rows of each set (column) of a genes x sets 0/1 matrix."""
    membership = sparse.csc_matrix(membership)
    membership.sort_indices()
    return [membership.indices[membership.indptr[j] : membership.indptr[j + 1]] for j in range(membership.shape[1])]


def elim(
    pvals: np.ndarray,
    rows: Sequence[np.ndarray],
    ancestors: Sequence[np.ndarray],
    depths: np.ndarray,
    retest: Retest,
    *,
    cutoff: float = 0.01,
) -> np.ndarray:
    """Return the ``elim`` p-values (concepts x terms) from the raw ones.

    Parameters
    ----------
    pvals
        Raw p-values, concepts x terms.
    rows
        Gene rows of each term (annotations propagated, so a child's rows lie in its parents').
    ancestors
        Positions of each term's ancestors among the terms (:func:`~scconcepts.genesets.kept_ancestors`).
    depths
        Depth of each term (:func:`~scconcepts.genesets.term_depths`); deeper terms go first.
    retest
        Computes a term's p-value for one concept on a reduced set of gene rows.
    cutoff
        Raw-p threshold at which a term counts as significant and removes its genes from its ancestors.

    """
    out = np.array(pvals, dtype=np.float64, copy=True)
    n_genes = 1 + max((int(r.max()) for r in rows if r.size), default=0)
    order = np.argsort(-np.asarray(depths), kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    n_retests = 0
    for concept in progress(range(out.shape[0]), desc="elim", leave=False, disable=out.shape[0] < 50):
        significant = np.flatnonzero(out[concept] < cutoff)
        if significant.size == 0:
            continue
        # only significant terms and their ancestors can change or act
        candidates = np.unique(np.concatenate([significant, *(ancestors[j] for j in significant)]))
        removed: dict[int, np.ndarray] = {}  # term -> boolean mask of genes removed by significant descendants
        for term in candidates[np.argsort(rank[candidates], kind="stable")]:
            gone = removed.get(term)
            if gone is not None:
                members = rows[term]
                out[concept, term] = retest(concept, term, members[~gone[members]])
                n_retests += 1
            if out[concept, term] < cutoff:
                for parent in ancestors[term]:
                    mask = removed.get(int(parent))
                    if mask is None:
                        mask = removed[int(parent)] = np.zeros(n_genes, dtype=bool)
                    mask[rows[term]] = True
    logger.debug("elim: %d terms retested over %d concepts", n_retests, out.shape[0])
    return out
