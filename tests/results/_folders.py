import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scconcepts.results import new_results_folder

WRITER = Path(__file__).with_name("_writer.py")
GENERATION_FILES = ("results.h5ad", "metrics.json", "enrichment.csv", "sae/model.safetensors")


def run_writer(folder: Path, generation: str, **env: str) -> subprocess.CompletedProcess:
    """Run the writer process on ``folder`` with extra environment variables (e.g. SCCONCEPTS_KILL_AT)."""
    return subprocess.run(
        [sys.executable, str(WRITER), str(folder), generation],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def generations(folder: Path) -> set[str]:
    """The generations that the folder's files hold (one element when the folder is consistent)."""
    return {(folder / name).read_text() for name in GENERATION_FILES}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A results folder at generation "old" with a user's file and an entry that the writer drops."""
    out = tmp_path / "results"
    with new_results_folder(out, info={"command": "test"}) as staging:
        for name in ("results.h5ad", "metrics.json", "enrichment.csv"):
            (staging / name).write_text("old")
        (staging / "sae").mkdir()
        (staging / "sae" / "model.safetensors").write_text("old")
    (out / "my_notes.txt").write_text("mine")
    assert json.loads((out / "scconcepts.json").read_text())["files"] == [
        "enrichment.csv",
        "metrics.json",
        "results.h5ad",
        "sae",
    ]
    return out
