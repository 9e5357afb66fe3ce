"""``--device`` / ``device=``: the CPU always works; a GPU that is not there is refused in one line (exit 2)."""

from __future__ import annotations

import anndata
import numpy as np
import pytest
import torch

from scconcepts import tl
from scconcepts._device import resolve_device
from scconcepts._errors import InputError
from scconcepts.cli import main

no_gpu = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")


def _one_line(capsys, fragment):
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert fragment in err
    return err


def test_resolve_names():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(" CPU ") == torch.device("cpu")
    assert resolve_device("auto") == torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    for bad in ("tpu", "gpu0", "cuda:x", ""):
        with pytest.raises(InputError, match="device"):
            resolve_device(bad)


@no_gpu
@pytest.mark.parametrize("name", ["cuda", "cuda:0", "cuda:3"])
def test_absent_gpu_refused(name):
    with pytest.raises(InputError, match="no CUDA GPU"):
        resolve_device(name)


@no_gpu
@pytest.mark.parametrize("command", ["run", "embed"])
def test_run_and_embed_refuse_an_absent_gpu_before_reading(tmp_path, capsys, command):
    out = tmp_path / ("out" if command == "run" else "out.h5ad")
    assert main([command, "--dataset", "pbmc68k", "--device", "cuda", "--out", str(out)]) == 2
    _one_line(capsys, "no CUDA GPU")
    assert not out.exists() and not list(tmp_path.iterdir())


@no_gpu
@pytest.mark.parametrize("command", ["attribute", "evaluate"])
def test_folder_commands_refuse_an_absent_gpu(tmp_path, capsys, command):
    assert main([command, str(tmp_path), "--device", "cuda:1"]) == 2
    _one_line(capsys, "no CUDA GPU")


def test_unknown_device_is_one_line(tmp_path, capsys):
    assert main(["run", "--dataset", "pbmc68k", "--device", "tpu", "--out", str(tmp_path / "out")]) == 2
    _one_line(capsys, "unknown device 'tpu'")


def test_embed_on_the_cpu(tmp_path):
    out = tmp_path / "cells.h5ad"
    args = ["embed", "--dataset", "pbmc68k", "--device", "cpu", "--max-epochs", "1", "--n-latent", "4"]
    assert main([*args, "--out", str(out)]) == 0
    assert anndata.read_h5ad(out).obsm["X_scvi"].shape[1] == 4


def test_python_api_moves_a_given_encoder_and_refuses_an_absent_gpu():
    from torch import nn

    from scconcepts.models import TorchEncoder

    adata = anndata.AnnData(np.random.default_rng(0).poisson(1.0, (20, 6)).astype(np.float32))
    encoder = TorchEncoder(nn.Linear(6, 3), list(adata.var_names), name="lin")
    assert tl.embed(adata, model=encoder, device="cpu") is encoder
    assert encoder.device == torch.device("cpu") and adata.obsm["X_lin"].shape == (20, 3)
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="no CUDA GPU"):
            tl.embed(adata, model=encoder, device="cuda")
        with pytest.raises(InputError, match="no CUDA GPU"):
            tl.train_sae(adata, use_rep="X_lin", device="cuda")


@no_gpu
def test_steer_and_apply_refuse_an_absent_gpu_before_reading(tmp_path, capsys):
    # Neither the folder nor the cells exist: the device is the first thing checked, and nothing is written.
    missing = str(tmp_path / "no_run")
    assert main(["steer", missing, "--concept", "0", "--device", "cuda"]) == 2
    _one_line(capsys, "no CUDA GPU")
    out = tmp_path / "applied"
    args = ["apply", missing, "--input", str(tmp_path / "no_cells.h5ad"), "--out", str(out), "--device", "cuda:0"]
    assert main(args) == 2
    _one_line(capsys, "no CUDA GPU")
    assert not list(tmp_path.iterdir())


def test_steer_and_apply_python_api_take_a_device():
    from torch import nn

    from scconcepts.models import TorchEncoder
    from scconcepts.sae import TopKSAE

    adata = anndata.AnnData(np.random.default_rng(0).poisson(1.0, (30, 6)).astype(np.float32))
    encoder = TorchEncoder(nn.Linear(6, 4), list(adata.var_names), name="lin")
    torch.manual_seed(0)
    sae = TopKSAE(4, 8, 2)
    tl.apply(adata, encoder=encoder, sae=sae, device="cpu")
    assert adata.obsm["X_lin"].shape == (30, 4) and adata.obsm["X_concepts"].shape == (30, 8)
    assert encoder.device == torch.device("cpu") and sae.W_dec.device == torch.device("cpu")
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="no CUDA GPU"):
            tl.apply(adata, encoder=encoder, sae=sae, device="cuda")
        with pytest.raises(InputError, match="no CUDA GPU"):
            tl.steer(adata, concept=0, encoder=encoder, sae=sae, device="cuda", expression=False)
