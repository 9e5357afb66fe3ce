"""Annotations are bound to the run's concept dictionary: never applied to another's, never written over."""

import json
import shutil

import pytest
from benchmarks._synthetic import make_synthetic_results
from fastapi.testclient import TestClient

from scconcepts.app import ANNOTATIONS_JSON, Annotation, AnnotationsError, AnnotationStore, create_app
from scconcepts.report import write_report
from scconcepts.results import dictionary_id, read_manifest


def test_a_new_run_moves_the_old_annotations_aside_and_the_explorer_refuses_them(tmp_path, caplog):
    out = make_synthetic_results(tmp_path / "results", n_cells=300, seed=0)
    old_id = dictionary_id(out)
    assert old_id and read_manifest(out)["dictionary_id"] == old_id
    old_server = AnnotationStore(out)
    old_server.save(3, Annotation(label="B cells", confidence=5))
    assert json.loads((out / ANNOTATIONS_JSON).read_text())["dictionary"] == old_id

    make_synthetic_results(out, n_cells=300, seed=1, overwrite=True)  # a new dictionary in the same folder
    new_id = dictionary_id(out)
    assert new_id != old_id
    assert not (out / ANNOTATIONS_JSON).exists()
    aside = out / f"annotations.{old_id}.json"
    assert json.loads(aside.read_text())["concepts"]["3"]["label"] == "B cells"  # kept, not lost
    assert aside.name in caplog.text and "not applied" in caplog.text
    assert AnnotationStore(out).all() == {}  # the new concepts carry none of them

    with pytest.raises(AnnotationsError, match="restart"):  # an explorer still open on the old run
        old_server.save(4, Annotation(label="written for the old concept 4"))
    assert not (out / ANNOTATIONS_JSON).exists()

    shutil.copy(aside, out / ANNOTATIONS_JSON)  # put back by hand: refused, not misapplied
    client = TestClient(create_app(out))
    response = client.get("/api/annotations")
    assert response.status_code == 409 and old_id in response.json()["detail"]
    assert client.put("/api/annotations/3", json={"label": "x"}).status_code == 409
    assert json.loads((out / ANNOTATIONS_JSON).read_text())["concepts"]["3"]["label"] == "B cells"


def test_files_of_older_versions_without_a_dictionary_are_adopted(fresh_dir):
    (fresh_dir / ANNOTATIONS_JSON).write_text(json.dumps({"version": 1, "concepts": {"2": {"label": "kept"}}}))
    store = AnnotationStore(fresh_dir)
    store.save(5, Annotation(label="new"))
    doc = json.loads((fresh_dir / ANNOTATIONS_JSON).read_text())
    assert doc["dictionary"] == dictionary_id(fresh_dir)
    assert {k: v["label"] for k, v in doc["concepts"].items()} == {"2": "kept", "5": "new"}


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('{"version": 1,\n "concepts": {"1": {"label": "a"},}}', "line 2"),
        ("[1, 2]", "not an annotations file"),
        ('{"concepts": {"1": "just a string"}}', "not an annotations file"),
    ],
)
def test_a_broken_file_is_named_and_left_untouched(fresh_dir, text, where):
    (fresh_dir / ANNOTATIONS_JSON).write_text(text)
    store = AnnotationStore(fresh_dir)
    with pytest.raises(AnnotationsError, match=where) as error:
        store.save(1, Annotation(label="b"))
    assert ANNOTATIONS_JSON in str(error.value) and len(str(error.value).splitlines()) == 1
    assert (fresh_dir / ANNOTATIONS_JSON).read_text() == text


def test_the_report_is_written_without_a_broken_annotations_file(fresh_dir, caplog):
    (fresh_dir / ANNOTATIONS_JSON).write_text("{broken")
    path = write_report(fresh_dir, max_concepts=2)
    assert path.is_file() and "annotations.json" in caplog.text
    assert (fresh_dir / ANNOTATIONS_JSON).read_text() == "{broken"
