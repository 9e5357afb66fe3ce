import numpy as np
import pandas as pd

from scconcepts.genesets import concept_terms, coverage_line, term_coverage


def row(concept, term_id, *, ranking="attribution", score=3.0, padj=1e-4, elim=True, dup="", method="ulm"):
    return {"concept": concept, "ranking": ranking, "source": "go_bp", "method": method, "term_id": term_id,
            "term": f"term {term_id}", "size": 20, "depth": 3.0, "score": score, "pval": padj / 10, "padj": padj,
            "pval_elim": padj / 10, "elim": elim, "duplicate_of": dup, "genes": ""}  # fmt: skip


TABLE = pd.DataFrame(
    [
        row(0, "GO:1"),  # counts
        row(0, "GO:1", ranking="de"),  # the same term from DE: listed once
        row(0, "GO:2", score=-7.4),  # depleted (the NK / MHC II case): not a term by default
        row(0, "GO:3", ranking="de", padj=1e-6),  # DE only: not a term by default
        row(0, "GO:4", elim=False),  # explained by a more specific term
        row(0, "GO:5", dup="GO:1"),  # near-duplicate of GO:1
        row(1, "GO:6", padj=0.2),  # not significant
        row(2, "GO:7", method="ora", score=3.5),  # ORA fold enrichment > 1: enriched
        row(2, "GO:8", method="ora", score=0.4),  # fold < 1: depleted
    ]
)


def test_a_concepts_terms_are_enriched_attribution_terms_once_each():
    terms = concept_terms(TABLE)
    assert list(zip(terms.concept, terms.term_id, strict=True)) == [(0, "GO:1"), (2, "GO:7")]
    assert set(terms.sign) == {"enriched"} and set(terms.ranking) == {"attribution"}
    both = concept_terms(TABLE, rankings=("attribution", "de"))
    assert list(both.term_id) == ["GO:3", "GO:1", "GO:7"]  # best p first, GO:1 once
    assert dict(zip(both.term_id, both.ranking, strict=True)) == {"GO:3": "de", "GO:1": "attribution+de",
                                                                  "GO:7": "attribution"}  # fmt: skip
    signed = concept_terms(TABLE, direction="both")
    assert dict(zip(signed.term_id, signed.sign, strict=True)) == {"GO:1": "enriched", "GO:2": "depleted",
                                                                   "GO:7": "enriched", "GO:8": "depleted"}  # fmt: skip
    assert not concept_terms(TABLE.iloc[:0]).shape[0]


def test_coverage_counts_the_concepts_with_a_term_over_those_enriched():
    coverage = term_coverage(TABLE, [0, 1, 2, 3], sources=["go_bp", "KEGG"])
    assert coverage["n_with_term"] == 2 and coverage["n_concepts"] == 4 and coverage["share_with_term"] == 0.5
    assert coverage["by_source"] == {"go_bp": 0.5, "KEGG": 0.0}
    assert coverage_line(coverage).startswith("2 of 4 concepts (50%) have a term (enriched in the attribution")
    assert term_coverage(TABLE, 4)["share_with_term"] == 0.5
    assert np.isclose(term_coverage(TABLE, [0, 1], alpha=0.05)["share_with_term"], 0.5)
