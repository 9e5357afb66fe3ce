"""The explorer on a ``run --tokens`` folder: gene tokens beside the counterfactual attribution, the per-cell mean.

A run on the cell embedding shows none of it (``tokens`` is ``None``, the token route answers 404).
"""

from urllib.parse import quote

import anndata as ad
import numpy as np
import pytest
from fastapi.testclient import TestClient
from tests._token_run import copy_token_run

from scconcepts.app import create_app
from scconcepts.models._token_store import open_store

from .conftest import XSS_LABEL

hypothesis = pytest.importorskip("hypothesis")
st = pytest.importorskip("hypothesis.strategies")


def unpack(content: bytes) -> tuple[np.ndarray, np.ndarray]:
    n = int(np.frombuffer(content[:4], dtype="<u4")[0])
    return np.frombuffer(content[4 : 4 + 4 * n], dtype="<u4"), np.frombuffer(content[4 + 4 * n :], dtype="<f4")


@pytest.fixture(scope="module")
def client(token_run):
    return TestClient(create_app(token_run), raise_server_exceptions=False)


@pytest.fixture(scope="module")
def adata(token_run):
    return ad.read_h5ad(token_run / "results.h5ad")


def test_info_says_token_run(client, token_run):
    tokens = client.get("/api/info").json()["tokens"]
    assert tokens["layer"] == "layer_1" and tokens["n_tokens"] == open_store(token_run / "tokens").n_tokens
    assert tokens["per_cell_mean"] and tokens["max_tokens_per_cell"] == 30


def test_concept_lists_top_gene_tokens_with_their_cells(client, adata, token_run):
    store = open_store(token_run / "tokens")
    per_gene = np.asarray(adata.varm["concepts_token_genes"])
    cid = int(np.nanargmax(np.nanmax(per_gene, axis=0)))  # the concept with the strongest gene token
    doc = client.get(f"/api/concepts/{cid}").json()
    genes = doc["tokens"]["genes"]
    column = np.nan_to_num(per_gene[:, cid], nan=-np.inf)
    assert genes[0]["gene"] == adata.var_names[int(np.argmax(column))]
    assert [g["score"] for g in genes] == sorted((g["score"] for g in genes), reverse=True)
    assert genes[0]["score"] == pytest.approx(float(column.max()), rel=1e-6)
    position = {name: i for i, name in enumerate(store.gene_names)}
    for row in genes:
        assert row["n_cells"] == int((np.asarray(store.genes) == position[row["gene"]]).sum()) > 0


def test_token_ranking_under_the_attribution_key_is_not_shown_as_attribution(token_run, adata, tmp_path):
    """A token run written before token concepts had a counterfactual attribution kept the token ranking there."""
    folder = copy_token_run(token_run, tmp_path / "old", attribution=np.nan_to_num(adata.varm["concepts_token_genes"]))
    old = ad.read_h5ad(folder / "results.h5ad")
    old.uns["concepts_attribution"] = {"source": "gene-token activation"}
    old.write_h5ad(folder / "results.h5ad")
    doc = TestClient(create_app(folder)).get("/api/concepts/0").json()
    assert doc["attribution"] is None and doc["tokens"]["attribution"] is None and doc["tokens"]["genes"]


def test_counterfactual_attribution_is_shown_beside_the_gene_tokens(token_run, adata, tmp_path):
    scores = np.zeros((adata.n_vars, adata.uns["concepts"]["params"]["n_concepts"]), dtype=np.float32)
    scores[5, 0], scores[9, 0] = 2.0, -1.0
    folder = copy_token_run(token_run, tmp_path / "results", attribution=scores)
    doc = TestClient(create_app(folder)).get("/api/concepts/0").json()
    assert doc["tokens"]["attribution"] == "counterfactual"
    assert doc["attribution"]["positive"] == [{"gene": adata.var_names[5], "score": 2.0}]
    assert doc["attribution"]["negative"] == [{"gene": adata.var_names[9], "score": -1.0}]
    assert doc["tokens"]["genes"]  # the token panel is unchanged by the attribution


def test_token_mean_route_sends_the_per_cell_mean(client, adata):
    mean = adata.obsm["X_concepts_token_mean"].tocsc()
    cid = int(np.argmax(mean.getnnz(axis=0)))
    response = client.get(f"/api/concepts/{cid}/token-mean")
    assert response.status_code == 200
    cells, values = unpack(response.content)
    column = mean[:, cid].toarray().ravel()
    assert set(cells.tolist()) == set(np.flatnonzero(column).tolist())
    np.testing.assert_allclose(values, column[cells], rtol=1e-6)
    assert np.all(np.diff(values) >= 0)
    maximum = adata.obsm["X_concepts"][:, cid].toarray().ravel()
    assert np.all(maximum[cells] >= values - 1e-5)  # the max over a cell's tokens is never below their mean


@pytest.mark.parametrize("cid", ["-1", "64", "9999999999999999999999", "x", "1.5"])
def test_token_mean_route_refuses_what_is_no_concept(client, cid):
    assert client.get(f"/api/concepts/{cid}/token-mean").status_code in (404, 422)


@hypothesis.settings(max_examples=60, deadline=None, derandomize=True, database=None)
@hypothesis.given(cid=st.one_of(st.integers(-(10**20), 10**20), st.text(max_size=20)))
def test_token_routes_never_fail(client, cid):
    for url in (f"/api/concepts/{quote(str(cid), safe='')}/token-mean", f"/api/concepts/{quote(str(cid), safe='')}"):
        assert client.get(url).status_code < 500


def test_cell_run_is_as_before(results_dir):
    client = TestClient(create_app(results_dir))
    assert client.get("/api/info").json()["tokens"] is None
    doc = client.get("/api/concepts/1").json()
    assert doc["tokens"] is None and doc["attribution"] is not None
    assert client.get("/api/concepts/1/token-mean").status_code == 404
    assert client.get("/api/genes/G1").json()["tokens"] is None


def test_gene_names_are_data_not_markup(token_run, adata, tmp_path):
    per_gene = np.nan_to_num(np.asarray(adata.varm["concepts_token_genes"]), nan=-np.inf)
    cid = int(np.argmax(per_gene.max(axis=0)))
    top = str(adata.var_names[int(np.argmax(per_gene[:, cid]))])
    folder = copy_token_run(token_run, tmp_path / "results", rename={top: XSS_LABEL})
    doc = TestClient(create_app(folder)).get(f"/api/concepts/{cid}").json()
    assert doc["tokens"]["genes"][0]["gene"] == XSS_LABEL and doc["tokens"]["genes"][0]["n_cells"] > 0


def test_gene_page_lists_the_concepts_its_token_carries(client, adata, token_run):
    per_gene = np.asarray(adata.varm["concepts_token_genes"])
    g = int(np.argmax(np.isfinite(per_gene).sum(axis=1)))  # a gene with a token
    doc = client.get(f"/api/genes/{quote(str(adata.var_names[g]), safe='')}").json()
    row = np.nan_to_num(per_gene[g], nan=-np.inf)
    assert doc["tokens"]["concepts"][0]["concept"] == int(np.argmax(row))
    assert doc["tokens"]["n_cells"] > 0 and doc["tokens"]["layer"] == "layer_1"
    if adata.uns.get("concepts_attribution", {}).get("source") == "gene-token activation":
        assert doc["drives"] is None  # the token ranking is not shown as what the gene drives
