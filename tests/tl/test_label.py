import anndata as ad
import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from scconcepts._errors import InputError
from scconcepts.tl._label import dominant_cell_types, label_concepts, short_term


def test_short_term_abbreviates_and_cuts_at_a_word():
    assert short_term("positive regulation of T cell activation") == "+reg. of T cell activation"
    assert short_term("T Cell Activation (GO:0042110)") == "T Cell Activation"
    name = "antigen processing and presentation of exogenous peptide antigen via MHC class II"
    assert short_term(name) == "antigen presentation via MHC class II"
    text = short_term("a very long name of a biological process that goes on and on", max_len=20)
    assert len(text) <= 20 and text.endswith("…") and not text[:-1].endswith(" ")


def test_dominant_cell_types():
    assert dominant_cell_types(pd.Series({"B": 0.1, "T": 0.8, "NK": 0.1})) == "T"
    assert dominant_cell_types(pd.Series({"B": 0.35, "T": 0.4, "NK": 0.25})) == "T/B"
    assert dominant_cell_types(pd.Series({"B": 0.3, "T": 0.25, "NK": 0.25, "M": 0.2})) == "mixed (B)"


def row(concept, term_id, term, pval, *, source="go_bp", score=3.0, elim=True, pval_elim=None, dup=""):
    return {"concept": concept, "ranking": "attribution", "source": source, "method": "ulm", "term_id": term_id,
            "term": term, "size": 20, "score": score, "pval": pval, "padj": pval * 10,
            "pval_elim": pval if pval_elim is None else pval_elim, "elim": elim, "duplicate_of": dup,
            "genes": ""}  # fmt: skip


def test_labels_use_the_top_elim_term_and_cell_types():
    adata = ad.AnnData(np.zeros((6, 2)))
    adata.obs["cell_type"] = ["T", "T", "T", "B", "B", "NK"]
    acts = np.zeros((6, 4))
    acts[:3, 0] = 1
    acts[3:5, 1] = 1
    acts[:, 2] = 1  # the same activation per cell in every type: mixed (ties keep the types' order)
    adata.obsm["X_concepts"] = sparse.csr_matrix(acts)
    adata.uns["concepts"] = {"table": pd.DataFrame({"frequency": [0.5, 0.3, 0.5, 0.0]}, index=["0", "1", "2", "3"])}
    adata.uns["concepts_enrichment"] = pd.DataFrame(
        [
            row(0, "GO:1", "lymphocyte activation", 1e-30, elim=False),  # explained by its child
            row(0, "GO:2", "T cell activation", 1e-20),
            row(0, "GO:3", "negative thing", 1e-25, score=-4.0),  # negatively associated: after positive ones
            row(0, "GO:7", "less significant but lower elim p", 1e-10, pval_elim=1e-50),
            row(0, "K", "Hematopoietic cell lineage", 1e-40, source="KEGG_2021_Human"),  # other source: later
            row(1, "GO:4", "B cell receptor signaling pathway", 1e-8),
            row(1, "GO:5", "same genes as GO:4", 1e-9, dup="GO:4"),
            row(2, "GO:6", "not significant", 0.2, elim=False),
        ]
    )
    label_concepts(adata)
    table = adata.uns["concepts"]["table"]
    assert table.loc["0", "label"] == "T: T cell activation"
    assert table.loc["0", "top_term_id"] == "GO:2"
    assert table.loc["1", "label"] == "B: B cell receptor signaling"
    assert table.loc["2", "label"] == "no term (2)"  # mixed: no cell-type prefix
    assert table.loc["2", "cell_types"] == "mixed (B)"
    assert table.loc["3", "label"] == "dead 3"
    assert table.loc["0", "frequency"] == 0.5  # other columns kept
    label_concepts(adata, sources=["KEGG_2021_Human"])
    assert adata.uns["concepts"]["table"].loc["0", "label"] == "T: Hematopoietic cell lineage"


def test_labels_need_enrichment():
    with pytest.raises(InputError, match="enrich"):
        label_concepts(ad.AnnData(np.zeros((2, 2))))


def enriched_adata(rows, n_concepts, scores=None):
    """Cells of type T only; every concept fires; an enrichment table from ``rows``."""
    adata = ad.AnnData(np.zeros((4, 6)), var=pd.DataFrame(index=[f"GENE{i}" for i in range(6)]))
    adata.obs["cell_type"] = ["T"] * 4
    adata.obsm["X_concepts"] = sparse.csr_matrix(np.ones((4, n_concepts)))
    adata.uns["concepts_enrichment"] = pd.DataFrame(rows)
    if scores is not None:
        adata.varm["concepts_attribution"] = np.asarray(scores, dtype=np.float64)
    return adata


def test_labels_prefer_the_specific_term_over_one_every_concept_shares():
    rows = []
    for c in range(6):  # "translation" is the strongest term of every concept
        rows.append(row(c, "GO:T", "translation", 1e-40))
        rows.append(row(c, f"GO:S{c}", f"specific process {c}", 1e-25 if c < 5 else 1e-3))  # 5: weak one-off
    rows.append(row(0, "GO:D", "depleted process", 1e-60, score=-9.0))  # depleted: never a label
    de = row(1, "GO:E", "found only in DE", 1e-80)
    rows.append({**de, "ranking": "de"})  # another ranking: never a label
    adata = enriched_adata(rows, 6)
    label_concepts(adata)
    table = adata.uns["concepts"]["table"]
    assert list(table["top_term_id"]) == [f"GO:S{c}" for c in range(5)] + ["GO:T"]  # a weak term never wins
    assert table.loc["0", "label"] == "T: specific process 0"
    assert (table["top_term_concepts"] == [1] * 5 + [6]).all() and (table["n_terms"] == 2).all()
    assert table["label"].is_unique


def test_two_concepts_with_the_same_top_term_get_distinct_labels_and_a_flag():
    rows = [row(0, "GO:1", "T cell activation", 1e-20), row(1, "GO:1", "T cell activation", 1e-10)]
    adata = enriched_adata(rows, 3)
    label_concepts(adata)
    table = adata.uns["concepts"]["table"]
    assert table.loc["0", "label"] != table.loc["1", "label"]
    assert table.loc["1", "label"] == "T: T cell activation #1"
    assert table.loc["1", "duplicate_of"] == "0" and table.loc["0", "duplicate_of"] == ""
    # with a second term nearly as specific, concept 1 moves to it instead of repeating
    rows.append(row(1, "GO:2", "leukocyte migration", 1e-9))
    adata = enriched_adata(rows, 3)
    label_concepts(adata)
    table = adata.uns["concepts"]["table"]
    assert table.loc["1", "top_term_id"] == "GO:2" and table.loc["1", "duplicate_of"] == ""


def test_label_genes_are_specific_and_copies_are_flagged_by_their_attribution():
    scores = np.zeros((6, 3))
    scores[0] = [5.0, 5.0, 5.0]  # GENE0: top of every concept but significant in none
    scores[1:3, 0] = [4.0, 3.0]
    scores[3:5, 1] = [4.0, 3.0]
    scores[:, 2] = scores[:, 1] * 0.9  # concept 2 copies concept 1's attribution
    rows = [row(0, "GO:1", "a", 1e-5), row(1, "GO:2", "b", 1e-5), row(2, "GO:3", "c", 1e-5)]
    adata = enriched_adata(rows, 3, scores)
    adata.varm["concepts_attribution_padj"] = np.where(scores[:, :] > 0, 0.01, 1.0) * np.where(
        np.arange(6)[:, None] == 0, 50.0, 1.0
    )  # GENE0 not significant: significant genes come first
    adata.obsm["X_concepts"] = sparse.csr_matrix(np.array([[1, 1, 1], [1, 1, 0], [1, 1, 0], [1, 1, 0]], float))
    label_concepts(adata, n_genes=2)
    table = adata.uns["concepts"]["table"]
    assert table.loc["0", "label"] == "T: a (GENE1, GENE2)"
    assert table.loc["1", "top_genes"] == "GENE3;GENE4" and table.loc["1", "n_significant_genes"] == 2
    label_concepts(adata, n_genes=3)
    assert adata.uns["concepts"]["table"].loc["0", "top_genes"] == "GENE1;GENE2;GENE0"  # filled from the ranking
    assert table.loc["2", "duplicate_of"] == "1" and table.loc["1", "duplicate_of"] == ""  # 1 fires in more cells
    assert table.loc["2", "redundancy"] == pytest.approx(1.0)
    assert table.loc["0", "redundancy"] < 0.8
