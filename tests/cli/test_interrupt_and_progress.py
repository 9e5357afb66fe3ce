"""A long run reports its progress in a log (not a terminal) and, killed, fails with 128 + signal leaving nothing."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scconcepts import _progress
from scconcepts._progress import LogProgress


def _run(out: Path, log: Path) -> subprocess.Popen:
    env = {**os.environ, "SCCONCEPTS_PROGRESS_INTERVAL": "0", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "scconcepts.cli", "run", "--dataset", "pbmc68k", "--model", "scvi"]
    command += ["--max-epochs", "400", "--out", str(out)]
    return subprocess.Popen(command, stdout=log.open("w"), stderr=subprocess.STDOUT, env=env)


@pytest.mark.slow
def test_killed_during_scvi_training_exits_128_plus_signal_and_leaves_nothing(tmp_path):
    stop = signal.SIGTERM
    out, log = tmp_path / "results", tmp_path / "run.log"
    process = _run(out, log)
    deadline = time.monotonic() + 240
    try:
        while "training scVI: 2/400 epochs" not in log.read_text():
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        process.send_signal(stop)
        status = process.wait(timeout=60)
    finally:
        process.kill()
    text = log.read_text()
    assert status == 128 + stop, text
    assert "NameError" not in text and "Traceback" not in text, text
    assert f"interrupted by {signal.Signals(stop).name}" in text
    # the progress lines a log file gets: one per update, with elapsed time and ETA, no carriage returns
    assert "training scVI: 1/400 epochs (0%)" in text and "ETA" in text and "\r" not in text
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [log], "a partial results folder was left behind"


def test_log_progress_writes_lines_with_eta(caplog, monkeypatch):
    monkeypatch.setattr(_progress, "LOG_INTERVAL", 0.0)
    caplog.set_level("INFO", logger="scconcepts.progress")
    bar = LogProgress(total=4, desc="attribution", unit="chunk", mininterval=0)
    for _ in range(4):
        bar.update(1)
    bar.close()
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == "attribution: 0/4 chunks (0%), 0:00:00 elapsed, ETA ?"
    assert lines[-1].startswith("attribution: 4/4 chunks (100%)")
    assert len(lines) == len(set(lines)) == 5, lines  # each step once, the final one not repeated by close()
