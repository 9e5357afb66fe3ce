"""Thread counts: fixed by the user, else by problem size capped by the CPUs, never by the load; used by the tools."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from anndata import AnnData

from scconcepts import _threads
from scconcepts._threads import MAC_PER_THREAD, choose_threads, free_cpus, settings, torch_threads


@pytest.fixture
def automatic(monkeypatch):
    """Automatic choice: no setting, no OMP_NUM_THREADS (restored afterwards)."""
    monkeypatch.setattr(settings, "_threads", None)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)


def test_small_products_get_one_thread(automatic, monkeypatch):
    monkeypatch.setattr(_threads, "cpu_count", lambda: 16)
    assert choose_threads(256 * 10 * 40) == 1  # a Top-K SAE on a 10-d scVI embedding
    assert choose_threads(MAC_PER_THREAD - 1) == 1
    assert choose_threads(4 * MAC_PER_THREAD) == 4
    assert choose_threads(1000 * MAC_PER_THREAD) == 16


def test_the_load_never_changes_the_count(automatic, monkeypatch):
    """Another count could give other last bits, and training other concepts: an idle and a busy machine agree."""
    monkeypatch.setattr(_threads, "cpu_count", lambda: 8)
    counts = []
    for runnable in (1, 1 + 6, 1 + 20):  # idle; 6 other tasks running; more busy than CPUs
        monkeypatch.setattr(_threads, "_runnable", lambda runnable=runnable: runnable)
        counts.append([choose_threads(work) for work in (1, 3 * MAC_PER_THREAD, 1000 * MAC_PER_THREAD)])
    assert counts == [[1, 3, 8]] * 3


def test_free_cpus_for_the_other_pools(monkeypatch):
    monkeypatch.setattr(_threads, "cpu_count", lambda: 8)
    monkeypatch.setattr(_threads, "_runnable", lambda: 1 + 6)  # this reader + 6 others running
    assert free_cpus(interval=0) == 2
    monkeypatch.setattr(_threads, "_runnable", lambda: 1 + 20)  # more busy than CPUs: still one
    assert free_cpus(interval=0) == 1
    readings = iter([1, 30, 1, 1, 1])  # one spike among quiet readings: the median ignores it
    monkeypatch.setattr(_threads, "_runnable", lambda: next(readings))
    assert free_cpus(interval=0) == 8


def test_user_choices_win(automatic, monkeypatch):
    monkeypatch.setattr(_threads, "cpu_count", lambda: 16)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert choose_threads(1) == 3 and choose_threads(1e12) == 3
    settings.threads = 5
    assert choose_threads(1) == 5


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True])
def test_setting_refuses_non_counts(bad):
    with pytest.raises(ValueError, match="positive integer"):
        settings.threads = bad


def test_torch_threads_restores():
    before = torch.get_num_threads()
    with torch_threads(before + 1):
        assert torch.get_num_threads() == before + 1
    assert torch.get_num_threads() == before


def test_train_sae_runs_with_the_chosen_threads(automatic, monkeypatch):
    from scconcepts import tl
    from scconcepts.sae import _learn

    seen = []
    real_train = _learn.train

    def spy(*args, **kwargs):
        seen.append(torch.get_num_threads())
        assert torch.are_deterministic_algorithms_enabled()  # and with torch's deterministic algorithms
        return real_train(*args, **kwargs)

    monkeypatch.setattr(_learn, "train", spy)
    rng = np.random.default_rng(0)
    adata = AnnData(np.zeros((300, 3), dtype=np.float32))
    adata.obsm["X_emb"] = rng.normal(size=(300, 8)).astype(np.float32)
    before = torch.get_num_threads()
    settings.threads = before + 2
    tl.train_sae(adata, use_rep="X_emb", regime="sae", k=2, expansion=2, epochs=1, labels_key=None, n_seeds=1)
    settings.threads = None
    monkeypatch.setattr(_threads, "cpu_count", lambda: 64)
    tl.train_sae(
        adata, use_rep="X_emb", regime="sae", k=2, expansion=2, epochs=1, labels_key=None, n_seeds=1
    )  # 256x8x16: small
    assert seen == [before + 2, 1]
    assert torch.get_num_threads() == before
    assert not torch.are_deterministic_algorithms_enabled()  # the user's setting is back


def test_deterministic_keeps_a_stricter_user_setting():
    from scconcepts._reproducible import deterministic

    torch.use_deterministic_algorithms(True)  # the user wants an error where an op has no deterministic version
    try:
        with deterministic():
            assert torch.are_deterministic_algorithms_enabled()
            assert not torch.is_deterministic_algorithms_warn_only_enabled()
        assert torch.are_deterministic_algorithms_enabled()
    finally:
        torch.use_deterministic_algorithms(False)


def test_importing_the_package_makes_openmp_threads_wait_passively():
    """Threads that sleep at a barrier instead of spinning do not stall a run beside a CPU-bound process."""
    code = "import os, sys, scconcepts; print(os.environ['OMP_WAIT_POLICY'], os.environ['CUBLAS_WORKSPACE_CONFIG'])"
    names = ("OMP_WAIT_POLICY", "CUBLAS_WORKSPACE_CONFIG")
    env = {k: v for k, v in os.environ.items() if k not in names}
    ours = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert ours.stdout.split() == ["PASSIVE", ":4096:8"], ours.stderr
    env.update(OMP_WAIT_POLICY="ACTIVE", CUBLAS_WORKSPACE_CONFIG=":16:8")  # the user's choices are kept
    theirs = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert theirs.stdout.split() == ["ACTIVE", ":16:8"], theirs.stderr


def test_cli_threads_option_is_applied(tmp_path):
    missing = str(tmp_path / "missing")  # info fails (exit 2) after the option has been applied
    variables = list(_threads.THREAD_VARIABLES)
    code = f"""
import json, os
import scconcepts.cli as cli
from scconcepts._threads import settings
assert cli.main(["--threads", "3", "info", {missing!r}]) == 2
first = settings.threads
assert cli.main(["info", {missing!r}, "--threads", "2"]) == 2
print(json.dumps([first, settings.threads, [os.environ[v] for v in {variables!r}]]))
"""
    env = {k: v for k, v in os.environ.items() if k not in variables}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    first, second, values = json.loads(result.stdout.strip().splitlines()[-1])
    assert (first, second) == (3, 2)
    assert set(values) == {"2"}


def test_cli_refuses_bad_thread_counts(capsys):
    from scconcepts.cli import main

    for bad in ("0", "-2", "x"):
        with pytest.raises(SystemExit) as error:
            main(["--threads", bad, "info", "."])
        assert error.value.code == 2
    assert "positive number of threads" in capsys.readouterr().err


def test_other_pools_follow_the_free_cpus_unless_the_user_sized_them(monkeypatch):
    monkeypatch.setattr(_threads, "OTHER_POOLS", ("MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"))  # numba's: below
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "7")  # the user's
    monkeypatch.setattr(_threads, "free_cpus", lambda: 1)
    assert _threads.limit_other_pools() == 1
    assert os.environ["OPENBLAS_NUM_THREADS"] == "7"
    assert os.environ["MKL_NUM_THREADS"] == "1"


def test_numba_is_sized_before_it_starts():
    code = """
import os, sys
from scconcepts._threads import apply_to_environment
apply_to_environment(1)
assert "numba" not in sys.modules and os.environ["NUMBA_NUM_THREADS"] == "1"
import numba
assert numba.get_num_threads() == 1
apply_to_environment(2)  # numba already running: resized through its API (at most its pool), no error
assert numba.get_num_threads() == min(2, numba.config.NUMBA_NUM_THREADS)
"""
    env = {k: v for k, v in os.environ.items() if k not in _threads.THREAD_VARIABLES}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
