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
        [sys.executable, "-m", "scconcepts", "serve", str(results_dir), "--port", str(port)],
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
    output = proc.stdout.read().decode()
    assert "open http://127.0.0.1:" in output
    assert "removed" not in output  # serve writes nothing, so a stop has nothing to clean up


def test_serve_rejects_a_folder_that_is_not_results(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "scconcepts.cli", "serve", str(tmp_path), "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "not an scconcepts results folder" in result.stderr


def test_serve_on_all_interfaces_prints_and_asks_for_a_token(results_dir):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "scconcepts.cli", "serve", str(results_dir), "--host", "0.0.0.0", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        first = proc.stdout.readline()
        assert "?token=" in first, first
        token = first.split("?token=")[1].split()[0]
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:  # without the token: 401 once the server is up
            try:
                urllib.request.urlopen(f"{base}/api/info", timeout=2)
                raise AssertionError("the explorer answered without its token")
            except urllib.error.HTTPError as error:
                assert error.code == 401
                break
            except (urllib.error.URLError, ConnectionError):
                assert proc.poll() is None, proc.stdout.read()
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        request = urllib.request.Request(f"{base}/api/info", headers={"Authorization": f"token {token}"})
        with urllib.request.urlopen(request, timeout=5) as response:
            assert json.loads(response.read())["n_concepts"] == 40
        rebinding = urllib.request.Request(
            f"{base}/api/info", headers={"Authorization": f"token {token}", "Host": f"attacker.example:{port}"}
        )
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(rebinding, timeout=5)
        assert error.value.code == 400
    finally:
        proc.terminate()
        proc.wait(timeout=10)
