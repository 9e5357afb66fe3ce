"""Gene-set resources: GMT files, libraries bundled offline, GO BP with its DAG; identifier harmonisation."""

from scconcepts.genesets._bundled import BUNDLED, bundled_libraries, bundled_library
from scconcepts.genesets._dag import kept_ancestors, term_depths
from scconcepts.genesets._gmt import read_gmt, split_term
from scconcepts.genesets._go import ensembl_to_symbol, go_bp, go_db_available, go_db_files
from scconcepts.genesets._ids import harmonise_genes, normalise_id, normalise_ids
from scconcepts.genesets._sets import DEFAULT_MAX_SIZE, DEFAULT_MIN_SIZE, GeneSets

__all__ = [
    "BUNDLED",
    "DEFAULT_MAX_SIZE",
    "DEFAULT_MIN_SIZE",
    "GeneSets",
    "bundled_libraries",
    "bundled_library",
    "ensembl_to_symbol",
    "go_bp",
    "go_db_available",
    "go_db_files",
    "harmonise_genes",
    "kept_ancestors",
    "normalise_id",
    "normalise_ids",
    "read_gmt",
    "split_term",
    "term_depths",
]
