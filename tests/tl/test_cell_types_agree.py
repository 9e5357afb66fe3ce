"""Label, ``cell_types``, ``top_cell_type``, the explorer and the report tell one story about every concept of a run."""

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from tests.evaluation._typed import toy_cells, typed_embeddings

from scconcepts import tl
from scconcepts.app import _pages
from scconcepts.app._data import ConceptResults
from scconcepts.report import write_report
from scconcepts.results import RESULTS_H5AD, new_results_folder


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    embeddings, _, labels = typed_embeddings(n_cells=900, dim=8, n_atoms=6, seed=3)
    keep = np.flatnonzero((labels != "type0") | (np.arange(labels.size) % 6 == 0))  # one small type among big ones
    adata = toy_cells(embeddings[keep], labels[keep])
    tl.train_sae(adata, use_rep="X_toy", k=2, expansion=2, n_seeds=1, epochs=30, seed=0)
    adata.uns["concepts_enrichment"] = pd.DataFrame()
    tl.label_concepts(adata)
    adata.obsm["X_umap"] = embeddings[keep, :2]
    adata.X = sparse.csr_matrix(adata.X)
    out = tmp_path_factory.mktemp("agree") / "results"
    with new_results_folder(out, info={"command": "test"}) as staging:
        adata.write_h5ad(staging / RESULTS_H5AD)
    return out


def test_label_cell_types_and_top_cell_type_agree_on_every_concept(folder):
    data = ConceptResults(folder)
    table = data.table
    alive = table[~table["dead"].astype(bool)]
    assert len(alive) >= 4
    assert (data.cell_types.value_counts() < 40).any()  # a small type is present
    for cid, row in alive.iterrows():
        first = row["cell_types"].removeprefix("mixed (").removesuffix(")").split("/")[0]
        assert first == row["top_cell_type"], (cid, row["cell_types"], row["top_cell_type"])
        if not row["cell_types"].startswith("mixed"):
            assert row["label"].startswith(f"{row['cell_types']}:"), (cid, row["label"])
        top = data.top_types(int(cid))
        assert top[0]["cell_type"] == row["top_cell_type"]
        assert top[0]["share"] == pytest.approx(row["top_cell_type_share"])
        assert _pages.concept(data, int(cid))["composition"][0]["cell_type"] == row["top_cell_type"]


def test_the_report_shows_the_same_top_type(folder):
    html = write_report(folder).read_text(encoding="utf-8")
    table = ConceptResults(folder).table
    row = table[~table["dead"].astype(bool)].iloc[0]
    catalogue = html.split('id="catalogue"')[1].split("</table>")[0]
    assert f"{row['top_cell_type']} ({row['top_cell_type_share']:.0%})" in catalogue
