"""Gene-set resources: GMT files, libraries bundled offline, GO BP with its DAG; identifier harmonisation."""

from scconcepts.genesets._bundled import BUNDLED, bundled_libraries, bundled_library
from scconcepts.genesets._collapse import collapse, jaccard
from scconcepts.genesets._compare import compare_rankings
from scconcepts.genesets._concepts import enrich_concepts
from scconcepts.genesets._dag import kept_ancestors, term_depths
from scconcepts.genesets._elim import elim, set_rows
from scconcepts.genesets._gmt import read_gmt, split_term
from scconcepts.genesets._go import ensembl_to_symbol, go_bp, go_db_available, go_db_files
from scconcepts.genesets._gsea import prerank
from scconcepts.genesets._ids import normalise_id, normalise_ids
from scconcepts.genesets._match import MIN_MATCH_RATE, GeneMatch, harmonise_genes, looks_like, match_genes
from scconcepts.genesets._ora import ora, ora_one
from scconcepts.genesets._resolve import load_source
from scconcepts.genesets._run import METHODS, EnrichOptions, enrich_scores
from scconcepts.genesets._sets import DEFAULT_MAX_SIZE, DEFAULT_MIN_SIZE, GeneSets
from scconcepts.genesets._terms import concept_terms, coverage_line, describe_terms, term_coverage
from scconcepts.genesets._ulm import UlmState, ulm, ulm_one
from scconcepts.stats._multiple_testing import bh, bh_rows

__all__ = [
    "BUNDLED",
    "DEFAULT_MAX_SIZE",
    "DEFAULT_MIN_SIZE",
    "METHODS",
    "MIN_MATCH_RATE",
    "EnrichOptions",
    "GeneMatch",
    "GeneSets",
    "UlmState",
    "bh",
    "bh_rows",
    "bundled_libraries",
    "bundled_library",
    "collapse",
    "compare_rankings",
    "concept_terms",
    "coverage_line",
    "describe_terms",
    "elim",
    "enrich_concepts",
    "enrich_scores",
    "ensembl_to_symbol",
    "go_bp",
    "go_db_available",
    "go_db_files",
    "harmonise_genes",
    "jaccard",
    "kept_ancestors",
    "load_source",
    "looks_like",
    "match_genes",
    "normalise_id",
    "normalise_ids",
    "ora",
    "ora_one",
    "prerank",
    "read_gmt",
    "set_rows",
    "split_term",
    "term_coverage",
    "term_depths",
    "ulm",
    "ulm_one",
]
