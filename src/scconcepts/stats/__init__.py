"""Statistics several stages share: null models (random atoms and directions, permuted labels) and their tests."""

from scconcepts.stats._paired import PairedTest, paired_log_test
from scconcepts.stats._permutation import empirical_pvalue, permuted_labels
from scconcepts.stats._proportions import excess_over_null
from scconcepts.stats._random_directions import random_directions, random_gene_sets, random_unit_atoms

__all__ = [
    "PairedTest",
    "empirical_pvalue",
    "excess_over_null",
    "paired_log_test",
    "permuted_labels",
    "random_directions",
    "random_gene_sets",
    "random_unit_atoms",
]
