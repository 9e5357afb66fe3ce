"""A run's ``labels_key`` (e.g. ``--labels-key bulk_labels``) reaches every place that shows cell types."""

import anndata as ad
import numpy as np
import pandas as pd
from benchmarks._synthetic import make_synthetic_results
from fastapi.testclient import TestClient
from scipy import sparse

from scconcepts._keys import labels_key_of
from scconcepts.app import create_app
from scconcepts.app._data import ConceptResults
from scconcepts.report import write_report
from scconcepts.tl import label_concepts

NK = "CD56+ NK"


def _enriched(labels_column: str, params: dict) -> ad.AnnData:
    adata = ad.AnnData(np.zeros((6, 2)))
    adata.obs[labels_column] = ["T", "T", "T", "B", "B", NK]
    acts = np.zeros((6, 2))
    acts[:3, 0] = 1
    acts[3:5, 1] = 1
    adata.obsm["X_concepts"] = sparse.csr_matrix(acts)
    adata.uns["concepts"] = {"params": params, "table": pd.DataFrame({"frequency": [0.5, 0.3]}, index=["0", "1"])}
    adata.uns["concepts_enrichment"] = pd.DataFrame(
        [
            {"concept": c, "ranking": "attribution", "source": "go_bp", "method": "ulm", "term_id": f"GO:{c}",
             "term": name, "size": 20, "score": 3.0, "pval": 1e-9, "padj": 1e-8, "pval_elim": 1e-9, "elim": True,
             "duplicate_of": "", "genes": ""}
            for c, name in ((0, "T cell activation"), (1, "B cell activation"))
        ]
    )  # fmt: skip
    return adata


def test_labels_key_of_reads_the_recorded_column():
    assert labels_key_of({"labels_key": "bulk_labels"}) == "bulk_labels"
    assert labels_key_of({"labels_key": "none"}) == "cell_type"
    assert labels_key_of({}) == "cell_type"
    assert labels_key_of({"labels_key": "none"}, default=None) is None


def test_labels_take_cell_types_from_the_recorded_labels_key():
    adata = _enriched("bulk_labels", {"labels_key": "bulk_labels"})
    label_concepts(adata)
    table = adata.uns["concepts"]["table"]
    assert table["cell_types"].tolist() == ["T", "B"]
    assert table["label"].tolist() == ["T: T cell activation", "B: B cell activation"]


def test_explicit_cell_type_column_still_wins():
    adata = _enriched("bulk_labels", {"labels_key": "cell_type"})
    label_concepts(adata, cell_type="bulk_labels")
    assert adata.uns["concepts"]["table"]["cell_types"].tolist() == ["T", "B"]


def test_explorer_and_report_use_a_non_default_labels_key(tmp_path):
    names = ["CD4+ T", "CD19+ B", NK]
    folder = make_synthetic_results(tmp_path / "results", n_types=3, labels_key="bulk_labels", type_names=names)
    data = ConceptResults(folder)
    assert data.labels_key == "bulk_labels" and set(data.cell_types.categories) == set(names)
    client = TestClient(create_app(folder))
    assert client.get("/api/info").json()["labels_key"] == "bulk_labels"
    assert {t["cell_type"] for t in client.get("/api/cell-types").json()} == set(names)
    page = client.get(f"/api/cell-types/{NK}")
    assert page.status_code == 200 and page.json()["n_cells"] > 0
    assert page.json()["concepts"][0]["concept"] % 3 == 2  # concept j fires in type j % 3 (NK is type 2)
    assert client.get("/api/concepts/2").json()["composition"][0]["cell_type"] == NK
    html = write_report(folder).read_text(encoding="utf-8")
    assert NK in html and "not computed" not in html.split('id="c2"')[1].split("</section>")[0]
