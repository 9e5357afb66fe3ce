"""A worker killed in the middle of an attribution: its chunks are computed again and the result is unchanged."""

import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from anndata import AnnData

from scconcepts import tl
from scconcepts.models import TorchEncoder

VARM = ("concepts_attribution", "concepts_attribution_raw", "concepts_attribution_pval",
        "concepts_attribution_padj", "concepts_attribution_fraction", "concepts_attribution_ncells")  # fmt: skip
#: Seconds the test waits for a worker to start its first chunk before it gives up (and fails).
PATIENCE = 120


class GatedEncoder(TorchEncoder):
    """A TorchEncoder whose first forward in a worker waits for ``folder/release``, leaving ``started-<pid>``.

    The process that built it (the test) is never held, so only workers' chunks wait; once the file exists
    every forward runs at once, in the worker started again after the kill too.
    """

    def __init__(self, module, genes, folder):
        super().__init__(module, genes)
        self.folder, self.owner = str(folder), os.getpid()

    def encode(self, x, context=None):
        release = os.path.join(self.folder, "release")
        if os.getpid() != self.owner and not os.path.exists(release):
            Path(self.folder, f"started-{os.getpid()}").touch()
            while not os.path.exists(release):
                time.sleep(0.02)
        return super().encode(x, context)


def _kill_a_waiting_worker(folder: Path, worker_pids: set[int], killed: list[int], stop: threading.Event) -> None:
    """Kill the first worker found waiting inside a chunk, then let every chunk run."""
    deadline = time.monotonic() + PATIENCE
    try:
        while time.monotonic() < deadline and not killed and not stop.is_set():
            for path in sorted(folder.glob("started-*")):
                pid = int(path.name.removeprefix("started-"))
                if pid in worker_pids:
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                    break
            time.sleep(0.02)
    finally:
        (folder / "release").touch()


@pytest.fixture
def cluster(monkeypatch):
    """Two nanny-managed worker processes of one thread; a killed one is started again by its nanny."""
    from distributed import Client, LocalCluster

    # workers (and the one started after the kill) import this module to unpickle the encoder
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[2]))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as local:
        with Client(local) as client:
            yield client


def _cells():
    rng = np.random.default_rng(0)
    programs = rng.poisson(2.0, (4, 80)) * (rng.random((4, 80)) < 0.15)
    membership = rng.random((300, 4)) < 0.4
    adata = AnnData(sp.csr_matrix(rng.poisson(0.3 + membership @ programs).astype(np.float32)))
    adata.var_names = [f"g{i}" for i in range(80)]
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(80, 32), torch.nn.Tanh(), torch.nn.Linear(32, 6))
    return adata, module


@pytest.mark.slow
def test_attribution_survives_a_worker_killed_mid_chunk(cluster, tmp_path, monkeypatch):
    monkeypatch.setattr("scconcepts.attribution._workers.DEFAULT_CELLS_PER_CHUNK", 8)  # many chunks
    adata, module = _cells()
    encoder = TorchEncoder(module, list(adata.var_names))
    tl.embed(adata, model=encoder)
    sae = tl.train_sae(adata, use_rep="X_torch", regime="sae", k=3, expansion=3, epochs=20, labels_key=None).sae
    options = {"encoder": encoder, "sae": sae, "method": "mask", "engine": "exact", "n_cells": 30}
    here = adata.copy()
    tl.attribute(here, **options)

    before = set(cluster.run(os.getpid).values())
    killed: list[int] = []
    stop = threading.Event()
    watcher = threading.Thread(target=_kill_a_waiting_worker, args=(tmp_path, before, killed, stop))
    watcher.start()
    there = adata.copy()
    try:
        tl.attribute(there, **{**options, "encoder": GatedEncoder(module, list(adata.var_names), tmp_path)},
                     client=cluster)  # fmt: skip
    finally:
        stop.set()
        watcher.join()
    assert killed and killed[0] in before, "no worker was caught inside a chunk"
    assert Path(tmp_path, f"started-{killed[0]}").exists()  # it died holding an unfinished chunk
    cluster.wait_for_workers(2, timeout=60)
    after = set(cluster.run(os.getpid).values())
    assert killed[0] not in after and len(after) == 2  # its nanny started a new process
    # every chunk counted once: the cells per concept and every score equal one process's
    np.testing.assert_array_equal(there.varm["concepts_attribution_ncells"], here.varm["concepts_attribution_ncells"])
    for key in VARM:
        tolerance = 2e-5 if key.endswith(("pval", "padj")) else 1e-6
        np.testing.assert_allclose(there.varm[key], here.varm[key], atol=tolerance, rtol=0, err_msg=key)
    assert np.abs(here.varm["concepts_attribution"]).max() > 0
