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
    acts[[0, 3, 5], 2] = 1
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
    assert table.loc["2", "label"] == "mixed (B): no term (2)"
    assert table.loc["3", "label"] == "dead 3"
    assert table.loc["0", "frequency"] == 0.5  # other columns kept
    label_concepts(adata, sources=["KEGG_2021_Human"])
    assert adata.uns["concepts"]["table"].loc["0", "label"] == "T: Hematopoietic cell lineage"


def test_labels_need_enrichment():
    with pytest.raises(InputError, match="enrich"):
        label_concepts(ad.AnnData(np.zeros((2, 2))))
