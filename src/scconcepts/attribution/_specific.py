"""Concept-specific attribution: how much more a gene moves this concept than it moves concepts in general.

The raw causal effect of gene ``g`` on concept ``k`` (``raw[g, k]``) is the mean signed change of the
concept over its chosen cells when the gene is perturbed (0 in cells that do not express it), divided
by the concept's mean activation there. Genes that the model reads strongly everywhere (high,
ubiquitously expressed genes such as ribosomal or mitochondrial transcripts) move *every* concept, so
they top every concept's raw ranking. The specific score removes that: the gene's typical effect size
on the other concepts, ``reference[g, k] = median_{j != k} |raw[g, j]|``, is subtracted from its effect
size on this concept, keeping the sign of the raw effect:

    specific = sign(raw) * max(|raw| - reference, 0)

A gene that moves all concepts alike scores 0; a gene that moves only this concept keeps its raw
effect. The unclipped ``excess = |raw| - reference`` is what the significance test compares between
genes of similar ``overall`` effect (mean |raw| over concepts).

The concept's chosen cells are the replicates of the test, and few cells carry little evidence:

- below :data:`MIN_TEST_CELLS` cells a concept's genes are not tested (p = 1). The most extreme
  outcome that ``n`` cells can show, every cell moved the same way, has probability ``2**-n`` under
  the exact sign-flip (permutation) test of the cells; below 5 cells that exceeds the genes'
  significance level 0.05 (:data:`GENE_ALPHA`), so no distribution-free test over the cells could
  call a gene significant. A smaller p-value from the z-test there comes from a variance estimated
  on 1 to 3 degrees of freedom, not from the cells: with 2 cells per concept, genes that move every
  concept alike came out significant in 12% of pairs (issue 22).
- from :data:`MIN_TEST_CELLS` cells on, ``z`` is read against Student's t, not the normal: the
  standard error has ``n - 1`` degrees of freedom, and the Welch-Satterthwaite degrees of freedom of
  the test's variance are ``n - 1`` where the cells' sampling error dominates it, more where the
  spread between genes does (see :func:`~scconcepts.stats.matched_null_pvalues`); at 50 cells the t
  and the normal hardly differ.

Everything here is computed from per gene x concept sums over cells (sum of changes, sum of squared
changes) and the concepts' cell counts and mean activations, so results do not depend on how the
cells were split between workers.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from scconcepts.stats import benjamini_hochberg, matched_null_pvalues

logger = logging.getLogger(__name__)

#: The FDR threshold at which genes are called significant by default (labels, ORA enrichment).
GENE_ALPHA = 0.05

#: Fewest chosen cells for which a concept's genes are tested: the smallest ``n`` with ``2**-n <= GENE_ALPHA``,
#: the resolution of an exact sign-flip test over ``n`` cells (see the module docstring).
MIN_TEST_CELLS = math.ceil(-math.log2(GENE_ALPHA))

#: Name of the significance test, as recorded in ``uns["<key>_attribution"]["test"]``.
TEST_NAME = (
    "random-effects z, one-sided: a gene's excess effect on the concept (|raw| - median |raw| over the "
    "other concepts), its standard error from the concept's cells, against the empirical null (median, "
    "MAD minus sampling variance) of genes in the same decile of overall effect, read against Student's t "
    "(Welch-Satterthwaite degrees of freedom from cells - 1); concepts with fewer than "
    f"{MIN_TEST_CELLS} cells untested (p = 1); BH per concept"
)


@dataclass
class SpecificScores:
    """Raw and specific attribution with their significance (all genes x concepts).

    Attributes
    ----------
    raw
        Raw causal effect (mean signed change over the concept's cells / the concept's mean activation).
    raw_se
        Standard error of ``raw`` over the concept's cells.
    specific
        ``sign(raw) * max(|raw| - reference, 0)``: the default ranking.
    reference
        The gene's typical effect size on the other concepts (median |raw| over them; 0 with one concept).
    z, pval, padj
        Random-effects z of the excess effect, its one-sided p-value and per-concept BH adjustment
        (``z = 0``, ``p = 1`` for the genes of concepts with fewer than :data:`MIN_TEST_CELLS` cells).

    """

    raw: np.ndarray
    raw_se: np.ndarray
    specific: np.ndarray
    reference: np.ndarray
    z: np.ndarray
    pval: np.ndarray
    padj: np.ndarray


def _reference(magnitude: np.ndarray) -> np.ndarray:
    """Median over the *other* columns of each row (0 where there is no other column)."""
    n = magnitude.shape[1]
    if n < 2:
        return np.zeros_like(magnitude)
    ordered = np.sort(magnitude, axis=1)
    rank = np.argsort(np.argsort(magnitude, axis=1, kind="stable"), axis=1, kind="stable")

    def statistic(i: int) -> np.ndarray:
        # The i-th smallest of the row without column k: removing rank r shifts those above it down by one.
        return np.where(i < rank, ordered[:, [i]], ordered[:, [min(i + 1, n - 1)]])

    return (statistic((n - 2) // 2) + statistic((n - 1) // 2)) / 2


def specific_scores(
    total: np.ndarray,
    squares: np.ndarray,
    tested: np.ndarray,
    changed: np.ndarray,
    n_cells: np.ndarray,
    mean_activation: np.ndarray,
) -> SpecificScores:
    """Compute raw and specific scores and their p-values from per gene x concept sums over cells.

    Parameters
    ----------
    total, squares
        Genes x concepts sums over the concept's chosen cells of the signed change and of its square.
    tested
        Genes x concepts: whether the gene was perturbed in any of the concept's cells. The tested genes
        form the null of the concept, those with no effect included.
    changed
        Genes x concepts: whether any of the concept's cells changed at all when the gene was perturbed
        (a gene that changes nothing gets p = 1).
    n_cells, mean_activation
        Per concept: chosen cells and their mean activation. Concepts with fewer than
        :data:`MIN_TEST_CELLS` cells are not tested (p = 1); the others' z is read against Student's t
        (degrees of freedom from ``n_cells - 1``, see the module docstring).

    """
    scale = n_cells * mean_activation
    ok = scale > 0
    n = np.maximum(n_cells, 1).astype(np.float64)
    a = np.where(ok, mean_activation, 1.0)
    raw = np.where(ok, total / (n * a), 0.0)
    mean_square = np.where(ok, squares / (n * a**2), 0.0)
    variance = np.maximum(mean_square - raw**2, 0.0) * n / np.maximum(n - 1, 1)
    raw_se = np.sqrt(variance / n)
    magnitude = np.abs(raw)
    reference = _reference(magnitude)
    excess = magnitude - reference
    specific = np.sign(raw) * np.maximum(excess, 0.0)
    overall = magnitude.mean(axis=1)
    enough = np.asarray(n_cells) >= MIN_TEST_CELLS
    few = int((ok & ~enough).sum())
    if few:
        logger.info(
            "%d concept(s) have fewer than %d cells: their genes are not tested for significance (p = 1); "
            "their scores are kept", few, MIN_TEST_CELLS,
        )  # fmt: skip
    valid = tested & ok[None, :] & enough[None, :]
    z, pval = matched_null_pvalues(excess, raw_se, overall[:, None], valid, dof=(n - 1)[None, :])
    pval = np.where(changed, pval, 1.0)
    padj = np.ones_like(pval)
    for column in range(pval.shape[1]):
        rows = valid[:, column]
        padj[rows, column] = benjamini_hochberg(pval[rows, column])
    return SpecificScores(raw=raw, raw_se=raw_se, specific=specific, reference=reference, z=z, pval=pval, padj=padj)
