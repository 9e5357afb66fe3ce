"""Cells read lazily (backed): the matrix stays on disk, and the pipeline gives what it gives on the loaded matrix."""

import json
import subprocess
import sys
import textwrap

import anndata as ad
import h5py
import numpy as np
import pytest
import scipy.sparse as sp
import torch

from scconcepts import ds
from scconcepts._errors import InputError
from scconcepts.cli import main
from scconcepts.ds._lazy import is_lazy, read_rows, row_chunks
from scconcepts.models import TorchEncoder, load_encoder
from scconcepts.models._torch import load_torch


def _counts(n_cells, n_genes, seed=0):
    """Sparse counts: 4 programs of 15 genes over a low background; obs["cell_type"] = the cell's program."""
    rng = np.random.default_rng(seed)
    program = rng.integers(0, 4, n_cells)
    rate = np.full((4, n_genes), 0.05)
    for p in range(4):
        rate[p, p * 15 : (p + 1) * 15] = 2.0
    x = sp.csr_matrix(rng.poisson(rate[program]).astype(np.float32))
    adata = ad.AnnData(x)
    adata.var_names = [f"G{j}" for j in range(n_genes)]
    adata.obs_names = [f"c{i}" for i in range(n_cells)]
    adata.obs["cell_type"] = [f"p{p}" for p in program]
    return adata


def _encoder(genes, hidden=16, dim=8):
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(len(genes), hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, dim))
    return TorchEncoder(module, genes, name="mlp")


def test_torch_encoder_saved_and_loaded_embeds_the_same(tmp_path):
    adata = _counts(300, 80)
    encoder = _encoder(list(adata.var_names))
    encoder.save(tmp_path / "model")
    loaded = load_encoder(tmp_path / "model")
    assert isinstance(loaded, TorchEncoder) and loaded.genes == encoder.genes and loaded.name == "mlp"
    np.testing.assert_array_equal(loaded.embed(adata), encoder.embed(adata))
    assert loaded.linear_first_layer() is not None  # the module keeps its layers: the fast engine still applies
    with pytest.raises(InputError, match="not a saved TorchEncoder"):
        load_torch(tmp_path)


def test_lazy_reading_gives_the_stored_rows(tmp_path, monkeypatch):
    monkeypatch.setattr("scconcepts.ds._lazy.CHUNK_CELLS", 700)
    adata = _counts(2500, 40)
    adata.write_h5ad(tmp_path / "sparse.h5ad")
    dense = adata.copy()
    dense.X = dense.X.toarray()
    dense.write_h5ad(tmp_path / "dense.h5ad")
    for name in ("sparse.h5ad", "dense.h5ad"):
        lazy = ds.read(tmp_path / name, backed=True)
        assert is_lazy(lazy) and lazy.shape == adata.shape
        assert list(lazy.obs["cell_type"]) == list(adata.obs["cell_type"])
        blocks = list(row_chunks(lazy))
        assert [start for start, _ in blocks] == [0, 700, 1400, 2100]
        assert abs(sp.vstack([b for _, b in blocks]) - adata.X).max() == 0
        rows = np.array([2400, 3, 3, 1200, 0])
        assert abs(read_rows(lazy, rows) - adata.X[rows]).max() == 0


@pytest.mark.slow
def test_lazy_run_equals_the_loaded_run(tmp_path):
    """With fewer cells than the attribution sample, a lazily read run reads every cell and gives the same results."""
    adata = _counts(1500, 60)
    adata.write_h5ad(tmp_path / "cells.h5ad")
    _encoder(list(adata.var_names)).save(tmp_path / "model")
    results = {}
    for flag in ("--backed", "--no-backed"):
        out = tmp_path / flag.strip("-")
        code = main(["run", "--input", str(tmp_path / "cells.h5ad"), "--model", "torch", "--checkpoint",
                     str(tmp_path / "model"), flag, "--regime", "sae", "--k", "3", "--expansion", "2", "--epochs", "30",
                     "--no-enrichment", "--out", str(out)])  # fmt: skip
        assert code == 0
        results[flag] = ad.read_h5ad(out / "results.h5ad")
        assert (out / "model" / "module.pt").is_file() and (out / "report.html").is_file()
    lazy, loaded = results["--backed"], results["--no-backed"]
    assert abs(lazy.X - loaded.X).max() == 0  # the matrix was copied chunk by chunk into the results
    np.testing.assert_array_equal(lazy.obsm["X_mlp"], loaded.obsm["X_mlp"])
    assert abs(lazy.obsm["X_concepts"] - loaded.obsm["X_concepts"]).max() < 1e-6
    np.testing.assert_allclose(lazy.varm["concepts_attribution"], loaded.varm["concepts_attribution"], atol=1e-6)
    np.testing.assert_allclose(lazy.varm["concepts_de"], loaded.varm["concepts_de"], atol=1e-6)
    assert np.abs(loaded.varm["concepts_attribution"]).max() > 0
    for column in ("fall_attributed", "fall_de", "fall_random", "fall_random_sd"):  # tl.faithfulness, read lazily
        tables = [run.uns["concepts"]["table"][column].to_numpy(dtype=float) for run in (lazy, loaded)]
        np.testing.assert_allclose(*tables, atol=1e-5)


def test_backed_refuses_what_it_cannot_read_lazily(tmp_path, capsys):
    adata = _counts(50, 30)
    adata.write_h5ad(tmp_path / "cells.h5ad")
    table = tmp_path / "cells.csv"
    adata.to_df().to_csv(table)
    _encoder(list(adata.var_names)).save(tmp_path / "model")
    assert main(["run", "--input", str(table), "--model", "torch", "--checkpoint", str(tmp_path / "model"),
                 "--backed", "--out", str(tmp_path / "a")]) == 2  # fmt: skip
    assert "only .h5ad files and .zarr stores" in capsys.readouterr().err
    assert main(["run", "--input", str(tmp_path / "cells.h5ad"), "--backed", "--out", str(tmp_path / "b")]) == 2
    assert "scVI trains on the whole matrix" in capsys.readouterr().err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def _write_dense_h5ad(path, n_cells, n_genes, block=500, seed=0):
    """An .h5ad whose X is stored dense (cells x genes float32), written block by block (never held whole)."""
    rng = np.random.default_rng(seed)
    program = rng.integers(0, 4, n_cells)
    shell = ad.AnnData(obs={"cell_type": [f"p{p}" for p in program]}, var={"name": np.arange(n_genes)})
    shell.obs_names = [f"c{i}" for i in range(n_cells)]
    shell.var_names = [f"G{j}" for j in range(n_genes)]
    shell.write_h5ad(path)
    with h5py.File(path, "a") as f:
        if "X" in f:
            del f["X"]
        x = f.create_dataset("X", shape=(n_cells, n_genes), dtype="float32")
        x.attrs["encoding-type"], x.attrs["encoding-version"] = "array", "0.2.0"
        for start in range(0, n_cells, block):
            stop = min(start + block, n_cells)
            values = np.zeros((stop - start, n_genes), dtype=np.float32)
            for p in range(4):
                rows = np.flatnonzero(program[start:stop] == p)
                values[np.ix_(rows, np.arange(p * 15, (p + 1) * 15))] = rng.poisson(2.0, (rows.size, 15))
            noise = rng.integers(0, n_genes, (stop - start, 100))
            values[np.arange(stop - start)[:, None], noise] += 1
            x[start:stop] = values


_LIMITED = textwrap.dedent(
    """
    import resource, sys
    limit = int(sys.argv[1])
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    from scconcepts.cli import main
    sys.exit(main(sys.argv[2:]))
    """
)


@pytest.mark.slow
def test_a_matrix_larger_than_the_memory_limit_runs_end_to_end(tmp_path):
    """X stored dense takes 1.68 GiB; the process may allocate 1.6 GiB (RLIMIT_DATA; ~0.5 of them taken by the
    imports): loading fails, lazily it runs (the automatic choice). 113 s at load 6 on 2 cores, 315 s at load 17:
    the subprocesses' time limit only guards against a hang."""
    n_cells, n_genes = 9_000, 50_000
    limit = int(1.6 * 2**30)
    path = tmp_path / "atlas.h5ad"
    _write_dense_h5ad(path, n_cells, n_genes)
    assert n_cells * n_genes * 4 > limit
    _encoder([f"G{j}" for j in range(n_genes)], hidden=8, dim=8).save(tmp_path / "model")
    common = ["run", "--input", str(path), "--model", "torch", "--checkpoint", str(tmp_path / "model"),
              "--regime", "sae", "--k", "2", "--expansion", "2", "--epochs", "3", "--no-enrichment"]  # fmt: skip

    def limited(*args):
        return subprocess.run([sys.executable, "-c", _LIMITED, str(limit), *common, *args], capture_output=True,
                              text=True, timeout=3600)  # fmt: skip

    refused = limited("--no-backed", "--out", str(tmp_path / "loaded"))
    assert refused.returncode != 0, "the limit does not bite: the loaded matrix fitted"
    assert "memory" in (refused.stderr + refused.stdout).lower()
    done = limited("--out", str(tmp_path / "lazy"))  # the automatic choice: too big to load, read lazily
    assert done.returncode == 0, done.stderr[-3000:]
    assert "read lazily" in done.stderr
    metrics = json.loads((tmp_path / "lazy" / "metrics.json").read_text())
    assert metrics["n_cells"] == n_cells and metrics["n_genes"] == n_genes
    with h5py.File(tmp_path / "lazy" / "results.h5ad", "r") as f:
        assert f["X"].shape == (n_cells, n_genes) and f["obsm/X_concepts"].attrs["shape"][0] == n_cells
        np.testing.assert_array_equal(f["X"][5000:5003], h5py.File(path, "r")["X"][5000:5003])


def test_the_automatic_choice_reads_lazily_what_would_not_fit(tmp_path, monkeypatch, caplog):
    from scconcepts.ds import _lazy

    adata = _counts(400, 30)
    adata.write_h5ad(tmp_path / "cells.h5ad")
    size = _lazy.stored_size(tmp_path / "cells.h5ad")
    assert size == adata.X.nnz * 8  # float32 values + int32 indices
    caplog.set_level("INFO", logger="scconcepts.ds._lazy")
    monkeypatch.setattr(_lazy, "memory_at_hand", lambda: 100 * size)
    assert _lazy.choose_lazy(tmp_path / "cells.h5ad", None) is False
    monkeypatch.setattr(_lazy, "memory_at_hand", lambda: 3 * size)  # loading would take a third of it
    assert _lazy.choose_lazy(tmp_path / "cells.h5ad", None) is True
    assert "read lazily" in caplog.text
    assert _lazy.choose_lazy(tmp_path / "cells.h5ad", False) is False  # the user's word wins
