"""Counterfactual gene attribution: perturbation strategies and the engines that run them.

The engines never see an SAE: they take an :class:`~scconcepts.models.Encoder` and a ``components``
function (embeddings -> activations), so SAE concepts, single neurons and PCA/ICA components are
attributed by the same code.
"""

from scconcepts.attribution._cells import counterfactual_neighbours, inactive_means, select_cells
from scconcepts.attribution._engine import ENGINES, GENE_SETS, AttributionResult, run_attribution
from scconcepts.attribution._forward import ExactRunner, ShortcutRunner, make_runner
from scconcepts.attribution._specific import TEST_NAME, SpecificScores, specific_scores
from scconcepts.attribution._strategies import STRATEGIES, GeneStatistics, Strategy, get_strategy, show
from scconcepts.attribution._token_concepts import TokenConceptEncoder
from scconcepts.stats import benjamini_hochberg

__all__ = [
    "ENGINES",
    "GENE_SETS",
    "STRATEGIES",
    "TEST_NAME",
    "AttributionResult",
    "ExactRunner",
    "GeneStatistics",
    "ShortcutRunner",
    "SpecificScores",
    "Strategy",
    "TokenConceptEncoder",
    "benjamini_hochberg",
    "counterfactual_neighbours",
    "get_strategy",
    "inactive_means",
    "make_runner",
    "run_attribution",
    "select_cells",
    "show",
    "specific_scores",
]
