import json
import threading

import numpy as np
import pytest
from fastapi.testclient import TestClient

from scconcepts.app import ANNOTATIONS_JSON, Annotation, AnnotationStore, create_app
from scconcepts.app._routes import STATIC_FILES

from .conftest import XSS_LABEL


@pytest.fixture(scope="module")
def client(results_dir):
    return TestClient(create_app(results_dir))


def unpack(body: bytes) -> tuple[np.ndarray, np.ndarray]:
    n = int(np.frombuffer(body[:4], dtype="<u4")[0])
    assert len(body) == 4 + 8 * n
    return np.frombuffer(body[4 : 4 + 4 * n], dtype="<u4"), np.frombuffer(body[4 + 4 * n :], dtype="<f4")


def test_index_and_static_files(client):
    index = client.get("/")
    assert index.status_code == 200 and 'src="/static/app.js"' in index.text
    assert "default-src 'none'" in index.headers["content-security-policy"]
    assert index.headers["x-content-type-options"] == "nosniff"
    for name in STATIC_FILES:
        response = client.get(f"/static/{name}")
        assert response.status_code == 200, name
        assert len(response.content) > 100
    assert "javascript" in client.get("/static/app.js").headers["content-type"]
    assert client.get("/favicon.ico").status_code == 204


@pytest.mark.parametrize(
    "url",
    [
        "/static/..%2F_server.py",
        "/static/../_server.py",
        "/static/%2e%2e/%2e%2e/results.h5ad",
        "/static/..%2F..%2F..%2Fetc%2Fpasswd",
        "/static/__init__.py",
        "/static/",
        "/results.h5ad",
        "/annotations.json",
        "/scconcepts.json",
        "/../../etc/passwd",
        "/static/index.html/../../_data.py",
    ],
)
def test_no_path_traversal(client, url):
    response = client.get(url)
    assert response.status_code == 404
    assert b"import" not in response.content and b"root:" not in response.content


def test_info(client):
    info = client.get("/api/info").json()
    assert info["n_cells"] == 2000 and info["n_concepts"] == 40 and info["n_neurons"] == 16
    assert info["embedding"] == "X_scvi"
    assert all(info["computed"].values())


def test_umap_is_float32_binary(client, results_dir):
    from scconcepts.app import ConceptResults

    body = client.get("/api/umap")
    assert body.headers["content-type"] == "application/octet-stream"
    xy = np.frombuffer(body.content, dtype="<f4").reshape(-1, 2)
    np.testing.assert_array_equal(xy, ConceptResults(results_dir).umap)


def test_concept_activations_binary(client, results_dir):
    from scconcepts.app import ConceptResults

    data = ConceptResults(results_dir)
    cells, values = unpack(client.get("/api/concepts/6/activations").content)
    dense = data.acts[:, 6].toarray().ravel()
    assert set(cells.tolist()) == set(np.flatnonzero(dense).tolist())
    np.testing.assert_allclose(values, dense[cells])
    cells, values = unpack(client.get("/api/neurons/2/activations").content)
    assert cells.size == 2000
    np.testing.assert_allclose(values, data.embedding[cells, 2])


def test_catalogue_and_concept(client):
    rows = client.get("/api/concepts").json()
    assert len(rows) == 40 and rows[1]["label"] == XSS_LABEL
    doc = client.get("/api/concepts/8").json()
    assert doc["id"] == 8 and doc["attribution"]["positive"][0]["gene"] == "G8"
    assert doc["cosine"][0]["concept"] == 9
    # the planted falls: concept 8 falls less from its attributed genes than from its DE genes, 9 is faithful
    assert doc["faithfulness"]["fall_attributed"] == 0.1 and doc["faithfulness"]["fall_de"] == 0.3
    assert not doc["faithfulness"]["faithful"] and not doc["faithfulness"]["beats_de"]
    assert doc["faithfulness"]["beats_random"] and doc["faithfulness"]["n_genes"] == 10
    assert client.get("/api/concepts/9").json()["faithfulness"]["faithful"]


@pytest.mark.parametrize("cid, status", [(40, 404), (-1, 404), (10**12, 404)])
def test_concept_ids_are_validated(client, cid, status):
    for url in (f"/api/concepts/{cid}", f"/api/concepts/{cid}/activations"):
        assert client.get(url).status_code == status
    assert client.put(f"/api/annotations/{cid}", json={"label": "x"}).status_code == status


@pytest.mark.parametrize("bad", ["x", "1.5", "1e3", "%20"])
def test_non_integer_ids_are_422(client, bad):
    assert client.get(f"/api/concepts/{bad}").status_code == 422
    assert client.get(f"/api/neurons/{bad}").status_code == 422


def test_neurons(client):
    assert client.get("/api/neurons/15").status_code == 200
    assert client.get("/api/neurons/16").status_code == 404
    assert client.get("/api/neurons/16/activations").status_code == 404
    doc = client.get("/api/neurons/0").json()
    assert doc["kind"] == "neuron" and doc["attribution"] is None


def test_genes_and_cell_types(client):
    assert client.get("/api/genes", params={"q": "g11"}).json()[:2] == ["G11", "G110"]
    assert client.get("/api/genes", params={"q": "x" * 101}).status_code == 422
    assert client.get("/api/genes/G5").json()["drives"][0]["concept"] == 5
    assert client.get("/api/genes/NOPE").status_code == 404
    types = client.get("/api/cell-types").json()
    assert [t["cell_type"] for t in types] == [f"type {c}" for c in "ABCDE"]
    doc = client.get("/api/cell-types/type C").json()
    assert doc["concepts"][0]["concept"] % 5 == 2
    assert client.get("/api/cell-types/type Z").status_code == 404


def test_bare_folder_endpoints(bare_dir):
    client = TestClient(create_app(bare_dir))
    assert client.get("/api/cell-types").json() is None
    assert client.get("/api/cell-types/type A").status_code == 404
    doc = client.get("/api/concepts/0").json()
    assert doc["attribution"] is None and doc["enrichment"] is None and doc["cosine"] is None
    assert doc["faithfulness"] is None
    gene = client.get("/api/genes/G0").json()
    assert gene["drives"] is None and gene["represses"] is None and gene["de"] is None


def test_annotation_round_trip_survives_restart(fresh_dir):
    client = TestClient(create_app(fresh_dir))
    before = sorted(p.name for p in fresh_dir.iterdir())
    body = {"label": XSS_LABEL, "note": "fires in type B", "confidence": 4, "interpretable": True}
    saved = client.put("/api/annotations/1", json=body).json()
    assert {k: saved[k] for k in body} == body
    # only annotations.json was written
    assert sorted(p.name for p in fresh_dir.iterdir()) == sorted([*before, ANNOTATIONS_JSON])
    on_disk = json.loads((fresh_dir / ANNOTATIONS_JSON).read_text())
    assert on_disk["concepts"]["1"]["label"] == XSS_LABEL
    restarted = TestClient(create_app(fresh_dir))
    assert restarted.get("/api/annotations").json()["1"]["note"] == "fires in type B"
    assert restarted.delete("/api/annotations/1").json() == {"deleted": True}
    assert restarted.delete("/api/annotations/1").json() == {"deleted": False}
    assert restarted.get("/api/annotations").json() == {}


@pytest.mark.parametrize(
    "body",
    [
        {"label": "x" * 201},
        {"confidence": 6},
        {"confidence": 0},
        {"interpretable": "maybe"},
        {"note": "n" * 4001},
        [1, 2],
    ],
)
def test_invalid_annotations_are_422(fresh_dir, body):
    client = TestClient(create_app(fresh_dir))
    assert client.put("/api/annotations/0", json=body).status_code == 422
    assert not (fresh_dir / ANNOTATIONS_JSON).exists()


def test_oversized_bodies_are_413(fresh_dir):
    client = TestClient(create_app(fresh_dir))
    big = json.dumps({"label": "a", "note": "n" * 70_000})
    response = client.put("/api/annotations/0", content=big, headers={"content-type": "application/json"})
    assert response.status_code == 413

    def chunks():  # no content-length: streamed, counted as it arrives
        for _ in range(20):
            yield b"x" * 8192

    response = client.put("/api/annotations/0", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert not (fresh_dir / ANNOTATIONS_JSON).exists()


def test_host_and_origin_guards(fresh_dir):
    client = TestClient(create_app(fresh_dir, allowed_hosts=["localhost", "127.0.0.1"]), base_url="http://127.0.0.1")
    assert client.get("/api/info").status_code == 200
    assert client.get("/api/info", headers={"host": "evil.example"}).status_code == 400
    bad = client.put("/api/annotations/0", json={"label": "x"}, headers={"origin": "http://evil.example"})
    assert bad.status_code == 403
    good = client.put("/api/annotations/0", json={"label": "x"}, headers={"origin": "http://127.0.0.1"})
    assert good.status_code == 200


def test_concurrent_writers_lose_no_concept(fresh_dir):
    stores = [AnnotationStore(fresh_dir), AnnotationStore(fresh_dir)]  # two servers on one folder

    def write(i: int) -> None:
        stores[i % 2].save(i, Annotation(label=f"label {i}", confidence=1 + i % 5))

    threads = [threading.Thread(target=write, args=(i,)) for i in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    saved = AnnotationStore(fresh_dir).all()
    assert sorted(int(k) for k in saved) == list(range(30))
    assert all(saved[str(i)]["label"] == f"label {i}" for i in range(30))
    # last write per concept wins
    stores[0].save(3, Annotation(label="first"))
    stores[1].save(3, Annotation(label="second"))
    assert AnnotationStore(fresh_dir).all()["3"]["label"] == "second"


def test_csv_export_and_agreement(fresh_dir):
    client = TestClient(create_app(fresh_dir))
    client.put("/api/annotations/2", json={"label": "B-cell receptor signalling", "interpretable": True})
    client.put("/api/annotations/5", json={"label": "=HYPERLINK(1)", "interpretable": False})
    client.put("/api/annotations/7", json={"note": "unsure"})
    csv = client.get("/api/annotations.csv")
    assert csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.strip().splitlines()
    assert lines[0] == "concept,label,note,confidence,interpretable,updated,automatic_label"
    assert lines[1].startswith("2,B-cell receptor signalling,,,True,")
    assert lines[1].endswith(",B cell receptor signalling")
    assert lines[2].startswith("5,'=HYPERLINK(1)")  # no spreadsheet formula
    assert len(lines) == 4
    summary = client.get("/api/agreement").json()
    assert summary["n_annotated"] == 3 and summary["n_labelled"] == 2
    assert (summary["n_interpretable"], summary["n_not_interpretable"]) == (1, 1)
    assert summary["exact"] == pytest.approx(0.5)  # concept 2 matches its automatic label, concept 5 does not
    assert [r["agree"] for r in summary["rows"]] == [True, False]


def test_corrupt_annotation_file_is_reported_and_never_replaced(fresh_dir):
    broken = '{"version": 1, "concepts": {"4": {"label": "hand edited"},\n  "5": {"label": "oops"}'
    (fresh_dir / ANNOTATIONS_JSON).write_text(broken)
    client = TestClient(create_app(fresh_dir))
    for response in (client.get("/api/annotations"), client.put("/api/annotations/4", json={"label": "ok"})):
        assert response.status_code == 409
        assert "annotations.json" in response.json()["detail"] and "line 2" in response.json()["detail"]
    assert client.delete("/api/annotations/4").status_code == 409
    assert (fresh_dir / ANNOTATIONS_JSON).read_text() == broken  # the expert's file is untouched


def test_a_large_folder_maps_a_fixed_sample_and_reads_expression_by_chunks(results_dir, monkeypatch):
    """Above MAX_POINTS the map holds a uniform sample; every value sent lands on its own cell's point."""
    import anndata as ad

    from scconcepts.app import _data
    from scconcepts.tl._de import log_normalised

    monkeypatch.setattr(_data, "MAX_POINTS", 150)
    monkeypatch.setattr(_data, "EXPRESSION_CHUNK", 70)
    data = _data.ConceptResults(results_dir)
    assert data.n_cells > 150 and data.shown.size == 150
    sampled = TestClient(create_app(results_dir))
    info = sampled.get("/api/info").json()
    assert info["n_shown"] == 150 and info["n_cells"] == data.n_cells
    points = np.frombuffer(sampled.get("/api/umap").content, dtype="<f4").reshape(-1, 2)
    np.testing.assert_array_equal(points, data.umap[data.shown])
    for url, (cells, values) in (
        ("/api/concepts/0/activations", data.concept_values(0)),
        ("/api/neurons/0/activations", data.neuron_values(0)),
        (f"/api/genes/{data.genes[0]}/expression", data.gene_values(str(data.genes[0]))),
    ):
        positions, sent = unpack(sampled.get(url).content)
        on_map = np.isin(cells, data.shown)
        np.testing.assert_array_equal(data.shown[positions], cells[on_map])  # each value on its own cell's point
        np.testing.assert_array_equal(sent, values[on_map])
    # the expression read in chunks equals the whole matrix normalised at once
    whole = log_normalised(ad.read_h5ad(results_dir / "results.h5ad")).tocsc()
    for gene in range(0, len(data.genes), 7):
        cells, values = data.gene_values(str(data.genes[gene]))
        column = whole[:, gene]
        expected = dict(zip(column.indices, column.data, strict=True))
        assert {int(c): float(v) for c, v in zip(cells, values, strict=True)} == pytest.approx(
            {int(c): float(v) for c, v in expected.items() if v != 0}
        )
