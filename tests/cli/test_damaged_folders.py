"""A damaged results folder, an impossible --out or --input path, and an internal error: one line each."""

import hashlib
import os
from pathlib import Path

import pytest
from benchmarks._synthetic import make_synthetic_results

from scconcepts.cli import main

FOLDER_COMMANDS = {
    "info": [],
    "report": [],
    "enrich": [],
    "serve": ["--port", "8765"],
    "attribute": [],
    "evaluate": ["--seeds", "1", "--no-sweep", "--no-grounding"],
}


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    out = make_synthetic_results(tmp_path_factory.mktemp("damaged") / "results", n_cells=200, n_genes=60)
    (out / "model").mkdir()  # attribute looks for the model before it reads the cells
    (out / "metrics.json").write_text('{"r2": 0.9}')
    return out


@pytest.fixture
def folder(template, tmp_path) -> Path:
    import shutil

    return Path(shutil.copytree(template, tmp_path / "results", symlinks=True))


def _state(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != ".scconcepts.lock"
    }


def _one_line(capsys, *fragments: str) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    for fragment in fragments:
        assert fragment in err, err
    return err


@pytest.mark.parametrize("command", list(FOLDER_COMMANDS))
def test_damaged_manifest(folder, command, capsys):
    (folder / "scconcepts.json").write_text('{"tool": "scconcepts", "files": [')
    before = _state(folder)
    assert main([command, str(folder), *FOLDER_COMMANDS[command]]) == 2
    _one_line(capsys, "scconcepts.json", "line 1")
    assert _state(folder) == before


@pytest.mark.parametrize("damage", ["deleted", "truncated"])
@pytest.mark.parametrize("command", ["enrich", "attribute", "evaluate", "report", "serve"])
def test_deleted_or_truncated_results(folder, command, damage, capsys):
    path = folder / "results.h5ad"
    if damage == "deleted":
        path.unlink()
    else:
        path.write_bytes(path.read_bytes()[:4096])
    before = _state(folder)
    assert main([command, str(folder), *FOLDER_COMMANDS[command]]) == 2
    _one_line(capsys, "results.h5ad")
    assert _state(folder) == before


@pytest.mark.parametrize("command", ["info", "enrich"])
def test_damaged_metrics(folder, command, capsys):
    (folder / "metrics.json").write_text('{"r2": 0.9,')
    before = _state(folder)
    assert main([command, str(folder)]) == 2
    _one_line(capsys, "metrics.json", "line 1")
    assert _state(folder) == before  # enrich refuses before it changes anything


def _run(out: str, *extra: str) -> int:
    return main(["run", "--dataset", "pbmc68k", "--max-epochs", "1", "--no-attribution", *extra, "--out", out])


def test_out_under_a_file(tmp_path, capsys):
    (tmp_path / "file.txt").write_text("x")
    assert _run(str(tmp_path / "file.txt" / "results")) == 2
    _one_line(capsys, "is a file")
    assert (tmp_path / "file.txt").read_text() == "x"


def test_out_with_a_name_too_long_for_the_file_system(tmp_path, capsys):
    assert _run(str(tmp_path / ("r" * 256))) == 2
    _one_line(capsys, "256 bytes", "255")
    assert list(tmp_path.iterdir()) == []


def test_a_name_of_250_bytes_is_usable(tmp_path):
    out = make_synthetic_results(tmp_path / ("r" * 250), n_cells=100, n_genes=50, n_concepts=8, n_dims=4, k=2)
    assert (out / "results.h5ad").is_file()  # the staging folder's name does not grow with the folder's
    assert main(["info", str(out)]) == 0


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_out_in_a_read_only_folder(tmp_path, capsys):
    parent = tmp_path / "locked"
    parent.mkdir()
    parent.chmod(0o555)
    try:
        assert _run(str(parent / "results")) == 2
        _one_line(capsys, "permission denied")
    finally:
        parent.chmod(0o755)


def test_over_long_input_and_folder_paths(tmp_path, capsys):
    long = str(tmp_path / ("c" * 300 + ".h5ad"))
    assert main(["run", "--input", long, "--out", str(tmp_path / "out")]) == 2
    _one_line(capsys, "--input", "255")
    assert main(["info", str(tmp_path / ("d" * 4000))]) == 2
    _one_line(capsys, "255")


def test_an_internal_error_names_the_step_and_logs_the_traceback(folder, tmp_path, capsys, monkeypatch):
    import scconcepts.tl._enrich

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug in the enrichment")

    monkeypatch.setattr(scconcepts.tl._enrich, "enrich", broken)
    monkeypatch.setenv("SCCONCEPTS_LOG_DIR", str(tmp_path / "logs"))
    before = _state(folder)
    assert main(["enrich", str(folder)]) == 1
    err = _one_line(capsys, "internal error while enriching", "ZeroDivisionError", "--debug")
    (log,) = (tmp_path / "logs").iterdir()
    assert str(log) in err
    text = log.read_text()
    assert "Traceback" in text and "a bug in the enrichment" in text and "enrich" in text
    assert _state(folder) == before and not list(folder.glob(".*partial*"))
    with pytest.raises(ZeroDivisionError):
        main(["enrich", str(folder), "--debug"])
