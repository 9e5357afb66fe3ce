import numpy as np
import pytest
from benchmarks._synthetic import make_synthetic_results

from scconcepts._errors import InputError
from scconcepts.app import ConceptResults, _pages
from scconcepts.results import new_results_folder


def test_planted_structure_is_recovered(results_dir):
    data = ConceptResults(results_dir)
    assert (data.n_cells, data.n_concepts) == (2000, 40)
    for cid in (0, 7, 13):
        doc = _pages.concept(data, cid)
        # concept j fires only in type j % 5: its active cells are all of that type
        top = doc["composition"][0]
        assert top["share"] == pytest.approx(1.0)
        assert top["cell_type"] == f"type {chr(65 + cid % 5)}"
        assert top["background"] == pytest.approx(0.2, abs=0.05)
        assert doc["attribution"]["positive"][0] == {"gene": f"G{cid}", "score": pytest.approx(3.0)}
        assert doc["attribution"]["negative"][0]["gene"] == f"G{cid + 1}"
        assert doc["de"][0]["gene"] == f"G{cid + 2}"
        # decoder rows 2m and 2m+1 are near copies
        partner = cid + 1 if cid % 2 == 0 else cid - 1
        assert doc["cosine"][0]["concept"] == partner
        assert doc["cosine"][0]["score"] > 0.99
        # co-activation neighbours fire in the same cell type
        assert doc["coactivation"], "no co-activation neighbour"
        assert all(n["concept"] % 5 == cid % 5 for n in doc["coactivation"])
        extra = {f"TERM:{80000 + cid:05d}", f"TERM:{70000 + cid:05d}"} if cid % 10 == 7 else set()  # 2 more terms
        assert {r["term_id"] for r in doc["enrichment"] if r["elim"]} == {f"TERM:{cid:05d}"} | extra
        assert len(doc["enrichment"]) == 2 + len(extra)
        values = [c["value"] for c in doc["top_cells"]]
        assert values == sorted(values, reverse=True)
        assert sum(doc["histogram"]["counts"]) == doc["n_active"]
        assert doc["histogram"]["zeros"] == data.n_cells - doc["n_active"]


def test_activations_match_the_matrix(results_dir):
    data = ConceptResults(results_dir)
    cells, values = data.concept_values(5)
    dense = data.acts[:, 5].toarray().ravel()
    assert set(cells.tolist()) == set(np.flatnonzero(dense).tolist())
    np.testing.assert_allclose(values, dense[cells])
    assert np.all(np.diff(values) >= 0)


def test_catalogue_rows(results_dir):
    data = ConceptResults(results_dir)
    rows = _pages.catalogue(data)
    assert [r["id"] for r in rows] == list(range(40))
    assert rows[3]["top_genes"][0] == "G3"
    assert rows[3]["top_terms"] == ["planted process 3"]
    assert rows[3]["top_cell_types"][0]["cell_type"] == "type D"
    freq = np.diff(data.acts_csc.indptr) / data.n_cells
    np.testing.assert_allclose([r["frequency"] for r in rows], freq)


def test_gene_and_cell_type_pages(results_dir):
    data = ConceptResults(results_dir)
    gene = _pages.gene(data, "G4")
    assert gene["drives"][0]["concept"] == 4
    assert gene["represses"][0]["concept"] == 3  # G{j+1} is the planted repressor of concept j
    assert gene["de"][0]["concept"] == 2
    ctype = _pages.cell_type(data, "type B")
    assert {r["concept"] % 5 for r in ctype["concepts"]} == {1}
    assert ctype["concepts"][0]["lift"] > 3


def test_neuron_page(results_dir):
    data = ConceptResults(results_dir)
    doc = _pages.neuron(data, 3)
    cells, _values = data.neuron_values(3)
    assert cells.size == data.n_cells
    assert doc["top_cells"][0]["value"] == pytest.approx(float(data.embedding[:, 3].max()))
    # the embedding grows with the cell type index: top cells of any dimension are mostly the last type
    assert doc["composition"][0]["cell_type"] == "type E"
    weights = data.decoder[:, 3]
    assert doc["cosine"][0]["concept"] == int(np.argmax(np.abs(weights)))


def test_optional_parts_are_reported_absent(bare_dir):
    data = ConceptResults(bare_dir)
    doc = _pages.concept(data, 0)
    assert doc["attribution"] is None and doc["de"] is None and doc["enrichment"] is None
    assert doc["cosine"] is None and doc["composition"] is None
    assert doc["coactivation"]
    info = _pages.info(data)
    assert info["computed"] == {
        "cell_types": False,
        "attribution": False,
        "de": False,
        "enrichment": False,
        "decoder": False,
    }
    assert _pages.catalogue(data)[0]["top_genes"] == []


def test_not_a_results_folder(tmp_path):
    with pytest.raises(InputError, match="not an scconcepts results folder"):
        ConceptResults(tmp_path)
    with new_results_folder(tmp_path / "empty"):
        pass
    with pytest.raises(InputError, match=r"results\.h5ad"):
        ConceptResults(tmp_path / "empty")


def test_synthetic_sizes(tmp_path):
    out = make_synthetic_results(tmp_path / "r", n_cells=300, n_concepts=12, n_types=3, k=3)
    data = ConceptResults(out)
    assert data.acts.shape == (300, 12)
    assert data.acts.getnnz(axis=1).max() <= 3
