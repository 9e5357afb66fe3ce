"""Counterfactual gene attribution: perturbation strategies and the engines that run them.

The engines never see an SAE: they take an :class:`~scconcepts.models.Encoder` and a ``components``
function (embeddings -> activations), so SAE concepts, single neurons and PCA/ICA components are
attributed by the same code.
"""

from scconcepts.attribution._cells import counterfactual_neighbours, select_cells
from scconcepts.attribution._engine import ENGINES, GENE_SETS, AttributionResult, run_attribution
from scconcepts.attribution._forward import ExactRunner, ShortcutRunner, make_runner
from scconcepts.attribution._stats import benjamini_hochberg, empirical_null_pvalues
from scconcepts.attribution._strategies import STRATEGIES, GeneStatistics, Strategy, get_strategy, show

__all__ = [
    "ENGINES",
    "GENE_SETS",
    "STRATEGIES",
    "AttributionResult",
    "ExactRunner",
    "GeneStatistics",
    "ShortcutRunner",
    "Strategy",
    "benjamini_hochberg",
    "counterfactual_neighbours",
    "empirical_null_pvalues",
    "get_strategy",
    "make_runner",
    "run_attribution",
    "select_cells",
    "show",
]
