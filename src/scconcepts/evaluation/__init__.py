"""Concepts against baselines: fidelity, sparsity, informativeness, monosemanticity, selectivity, stability."""

from scconcepts.evaluation._baselines import BASELINES, Representation, fit_baseline
from scconcepts.evaluation._deletion import deletion_fall
from scconcepts.evaluation._fidelity import r2, sparsity
from scconcepts.evaluation._json import to_jsonable
from scconcepts.evaluation._monosemanticity import monosemanticity, purity, top_cell_ami
from scconcepts.evaluation._selectivity import component_selectivity, concept_selectivity, summarise_selectivity
from scconcepts.evaluation._stability import cross_dataset_stability, match_atoms, pair_stability, stability
from scconcepts.evaluation._sweep import default_grid, sweep

__all__ = [
    "BASELINES",
    "Representation",
    "component_selectivity",
    "concept_selectivity",
    "cross_dataset_stability",
    "default_grid",
    "deletion_fall",
    "fit_baseline",
    "match_atoms",
    "monosemanticity",
    "pair_stability",
    "purity",
    "r2",
    "sparsity",
    "stability",
    "summarise_selectivity",
    "sweep",
    "to_jsonable",
    "top_cell_ami",
]
