"""kill -9 while run, attribute, enrich or evaluate commit: the folder is the old or the new state, never a mix.

Each command runs in a subprocess that kills itself (SCCONCEPTS_KILL_AT=applying) right after the
first changed entry was moved in: on disk the folder is then mixed, and the next command that
opens it must finish the commit. A second ``run`` on a folder being written is refused at once.
"""

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scconcepts.cli import main
from scconcepts.results import read_manifest

TINY_RUN = [
    "--dataset",
    "pbmc68k",
    "--max-epochs",
    "2",
    "--regime",
    "sae",
    "--k",
    "2",
    "--expansion",
    "2",
    "--epochs",
    "5",
]
COMMANDS = {
    "attribute": (["--n-cells", "5"], {"results.h5ad", "attribution.csv", "report.html"}),
    "enrich": (["--no-elim", "--no-de"], {"results.h5ad", "enrichment.csv", "metrics.json", "report.html"}),
    "evaluate": (["--seeds", "1", "--no-sweep", "--no-grounding", "--epochs", "2"], {"evaluation.json", "report.html"}),
}


def _scconcepts(*args: str, **env: str) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", **env}
    return subprocess.Popen([sys.executable, "-m", "scconcepts.cli", *args], env=env, stderr=subprocess.PIPE, text=True)


def _hashes(folder: Path) -> dict[str, tuple[int, str]]:
    """Each visible file's inode and content hash (a committed file is a new inode, even with equal content)."""
    out = {}
    for path in folder.iterdir():
        if path.is_file() and not path.name.startswith("."):
            out[path.name] = (path.stat().st_ino, hashlib.sha256(path.read_bytes()).hexdigest())
    return out


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("kill") / "results"
    assert main(["run", *TINY_RUN, "--no-enrichment", "--out", str(out)]) == 0
    return out


@pytest.fixture
def folder(template, tmp_path) -> Path:
    return Path(shutil.copytree(template, tmp_path / "results"))


def _kill_and_recover(folder: Path, command: list[str], changed: set[str]) -> None:
    before = _hashes(folder)
    process = _scconcepts(*command, SCCONCEPTS_KILL_AT="applying")
    assert process.wait(timeout=600) == -signal.SIGKILL, process.stderr.read()
    on_disk = _hashes(folder)
    moved = {name for name in before.keys() | on_disk.keys() if on_disk.get(name) != before.get(name)}
    assert moved and changed - moved, "the kill did not fall between two renames"

    manifest = read_manifest(folder)  # the next command to open the folder finishes the commit
    after = _hashes(folder)
    assert {name for name in changed if after.get(name) != before.get(name)} == changed
    assert all((folder / name).exists() for name in manifest["files"])
    assert not list(folder.glob(".*partial*"))
    assert main(["info", str(folder)]) == 0


@pytest.mark.slow
@pytest.mark.parametrize("command", list(COMMANDS))
def test_kill_during_a_command_leaves_one_state(folder, command):
    options, changed = COMMANDS[command]
    if command == "enrich":
        assert main(["attribute", str(folder), "--n-cells", "5"]) == 0  # fresh attribution to enrich
    _kill_and_recover(folder, [command, str(folder), *options], changed)
    if command == "enrich":
        assert "enrichment" in json.loads((folder / "metrics.json").read_text())


@pytest.mark.slow
def test_kill_during_run_overwrite_leaves_the_new_run(folder):
    old_id = read_manifest(folder)["dictionary_id"]
    changed = {"results.h5ad", "metrics.json", "concepts.csv", "report.html", "scconcepts.json"}
    _kill_and_recover(folder, ["run", *TINY_RUN, "--seed", "1", "--out", str(folder), "--overwrite"], changed)
    manifest = read_manifest(folder)
    assert manifest["dictionary_id"] != old_id and "attribution.csv" in manifest["files"]


@pytest.mark.slow
def test_a_second_run_on_the_same_folder_is_refused(tmp_path, capsys, monkeypatch):
    from scconcepts.cli import _run

    out = tmp_path / "results"
    args = ["run", *TINY_RUN, "--no-attribution", "--out", str(out)]
    first = _scconcepts(*args, SCCONCEPTS_STOP_AT="staged")  # stops itself just before its commit
    try:
        deadline = time.monotonic() + 600  # a guard against a hang, not a measure
        while Path(f"/proc/{first.pid}/stat").read_text().split(") ")[1][0] != "T":
            assert first.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        read = []
        monkeypatch.setattr(_run, "load_cells", lambda *a, **k: read.append(a) or pytest.fail("cells were read"))
        assert main(args) == 2
        err = capsys.readouterr().err.strip()
        assert (
            len(err.splitlines()) == 1 and f"being written by another scconcepts command (process {first.pid})" in err
        )
        assert read == []  # refused before any work: the cells were never read
    finally:
        first.send_signal(signal.SIGCONT)
        status = first.wait(timeout=600)
    assert status == 0, first.stderr.read()
    assert set(read_manifest(out)["files"]) >= {"results.h5ad", "sae", "model", "report.html"}
