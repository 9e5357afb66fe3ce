"""Statistics several stages share.

Null models (random atoms and directions, permuted labels, matched empirical nulls), their tests and
multiple-testing correction; the cell-type shares of concept activations.
"""

from scconcepts.stats._empirical_null import matched_null_pvalues
from scconcepts.stats._multiple_testing import benjamini_hochberg
from scconcepts.stats._paired import PairedTest, paired_log_test
from scconcepts.stats._permutation import empirical_pvalue, permuted_labels
from scconcepts.stats._proportions import excess_over_null
from scconcepts.stats._random_directions import random_directions, random_gene_sets, random_unit_atoms
from scconcepts.stats._ranks import normal_scores
from scconcepts.stats._type_shares import TypeShares, type_shares

__all__ = [
    "PairedTest",
    "TypeShares",
    "benjamini_hochberg",
    "empirical_pvalue",
    "excess_over_null",
    "matched_null_pvalues",
    "normal_scores",
    "paired_log_test",
    "permuted_labels",
    "random_directions",
    "random_gene_sets",
    "random_unit_atoms",
    "type_shares",
]
