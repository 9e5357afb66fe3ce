"""Datasets: bundled immune cells with integer counts, readers for users' files, atlas fetchers."""

from scconcepts.ds._atlases import cross_tissue_immune_atlas, tabula_sapiens_immune
from scconcepts.ds._cellxgene import cellxgene
from scconcepts.ds._counts import Counts, check_counts, is_counts
from scconcepts.ds._immune_sample import immune_sample
from scconcepts.ds._pbmc68k import pbmc68k
from scconcepts.ds._pbmc_sorted import pbmc_sorted
from scconcepts.ds._read import read
from scconcepts.ds._registry import DATASETS, load_dataset

__all__ = [
    "DATASETS",
    "Counts",
    "cellxgene",
    "check_counts",
    "cross_tissue_immune_atlas",
    "immune_sample",
    "is_counts",
    "load_dataset",
    "pbmc68k",
    "pbmc_sorted",
    "read",
    "tabula_sapiens_immune",
]
