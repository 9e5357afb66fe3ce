"""``scconcepts serve`` as a real process, over real HTTP on localhost."""

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_command(results_dir):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "scconcepts.cli", "serve", str(results_dir), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/info", timeout=2) as response:
                    info = json.loads(response.read())
                break
            except (urllib.error.URLError, ConnectionError):
                assert proc.poll() is None, proc.stdout.read().decode()
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        assert info["n_concepts"] == 40
        # bound to the loopback interface only, and answers only to loopback host names
        request = urllib.request.Request(f"{base}/api/info", headers={"Host": "attacker.example"})
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(request, timeout=5)
        assert error.value.code == 400
        big = urllib.request.Request(
            f"{base}/api/annotations/0",
            data=b"{" + b" " * 70_000 + b"}",
            method="PUT",
            headers={"content-type": "application/json"},
        )
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(big, timeout=5)
        assert error.value.code == 413
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert "open http://127.0.0.1:" in proc.stdout.read().decode()


def test_serve_rejects_a_folder_that_is_not_results(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "scconcepts.cli", "serve", str(tmp_path), "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "not an scconcepts results folder" in result.stderr
