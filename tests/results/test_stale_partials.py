"""Entries left by killed commands (staging folders, .NAME.partial-PID files) are swept by the next command."""

import os
import subprocess
import sys

from scconcepts.results import add_to_results, read_manifest


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_the_next_command_sweeps_what_dead_processes_left(folder):
    dead = _dead_pid()
    staging = folder / f".scconcepts.partial-{dead}"
    staging.mkdir()
    (staging / "results.h5ad").write_bytes(b"")  # a 0-byte file of a killed write
    (folder / f".enrichment.csv.partial-{dead}").write_bytes(b"")  # an older version's temporary file
    live = folder / f".metrics.json.partial-{os.getppid()}"  # its process is alive: not ours to remove
    live.write_bytes(b"")
    beside = folder.parent / ".results.partial-x1y2z3"  # an older version's unfinished run folder
    beside.mkdir()

    read_manifest(folder)  # any command opening the folder (here: a reader such as `info`)
    assert not staging.exists() and not (folder / f".enrichment.csv.partial-{dead}").exists()
    assert live.exists()

    add_to_results(folder, "notes.txt", lambda path: path.write_text("x"))  # a writer also sweeps beside it
    assert not beside.exists()
    assert live.exists()
    assert (folder / "my_notes.txt").read_text() == "mine"
