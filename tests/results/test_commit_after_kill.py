"""kill -9 at every point of a commit leaves one generation; the next command finishes or sweeps the rest."""

import signal

import pytest

from scconcepts.results import read_manifest

from ._folders import generations, run_writer


def test_a_commit_changes_every_file_and_keeps_the_users(folder):
    done = run_writer(folder, "new")
    assert done.returncode == 0, done.stderr
    assert generations(folder) == {"new"}
    assert (folder / "my_notes.txt").read_text() == "mine"
    assert not list(folder.glob(".*partial*"))


@pytest.mark.parametrize(
    ("point", "after"), [("staged", "old"), ("committed", "new"), ("applying", "new"), ("applied", "new")]
)
def test_kill_at_any_point_leaves_one_generation(folder, point, after):
    done = run_writer(folder, "new", SCCONCEPTS_KILL_AT=point)
    assert done.returncode == -signal.SIGKILL
    if point == "applying":  # the process died between two renames: on disk the folder is mixed...
        assert generations(folder) == {"old", "new"}
    manifest = read_manifest(folder)  # ...until the next command opens it
    assert generations(folder) == {after}
    assert set(manifest["files"]) == {"enrichment.csv", "metrics.json", "results.h5ad", "sae"}
    assert (folder / "my_notes.txt").read_text() == "mine"
    assert not list(folder.glob(".*partial*"))  # no staging folder or empty file left behind


def test_a_second_writer_is_refused_while_the_first_works(folder):
    import os
    import subprocess
    import sys
    import time

    from ._folders import WRITER

    first = subprocess.Popen(
        [sys.executable, str(WRITER), str(folder), "first"],
        env={**os.environ, "SCCONCEPTS_STOP_AT": "committed"},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while open(f"/proc/{first.pid}/stat").read().split(") ")[1][0] != "T":
            assert time.monotonic() < deadline and first.poll() is None
            time.sleep(0.05)
        second = run_writer(folder, "second")
        assert second.returncode == 1
        assert f"is being written by another scconcepts command (process {first.pid})" in second.stderr
        assert generations(folder) == {"old"}  # readers see the state before the first writer's commit
        read_manifest(folder)  # a reader does not finish a live writer's commit
        assert generations(folder) == {"old"}
    finally:
        first.send_signal(signal.SIGCONT)
        first.wait(timeout=60)
    assert first.returncode == 0, first.stderr.read()
    assert generations(folder) == {"first"}
