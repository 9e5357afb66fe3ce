"""scGPT checkpoint loading: official key names accepted, damaged checkpoints refused with a clear message."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from anndata import AnnData

from scconcepts._errors import InputError
from scconcepts.models._registry import build_encoder
from scconcepts.models._scgpt_model import load_scgpt_checkpoint

from ._checkpoints import make_tiny_scgpt

GENES = [f"G{i}" for i in range(60)]


@pytest.fixture
def folder(tmp_path):
    return make_tiny_scgpt(tmp_path / "ckpt", GENES)


def _data(genes) -> AnnData:
    rng = np.random.default_rng(0)
    adata = AnnData(rng.poisson(1.0, (20, len(genes))).astype(np.float32))
    adata.var_names = genes
    return adata


def test_loads_flash_attention_key_names(folder):
    state = torch.load(folder / "best_model.pt")
    assert any("self_attn.Wqkv.weight" in k for k in state)
    loaded = load_scgpt_checkpoint(folder)
    layer = loaded.model.transformer_encoder.layers[1]
    assert torch.equal(layer.self_attn.in_proj_weight, state["transformer_encoder.layers.1.self_attn.Wqkv.weight"])
    assert loaded.vocab["<cls>"] == len(GENES) + 1


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("missing", "lacks 1 tensors"),
        ("misnamed", "lacks 1 tensors"),
        ("shape", "does not match"),
    ],
)
def test_refuses_damaged_weights(folder, damage, message):
    state = torch.load(folder / "best_model.pt")
    key = "transformer_encoder.layers.0.linear1.weight"
    if damage == "missing":
        del state[key]
    elif damage == "misnamed":
        state["transformer_encoder.layers.0.lin1.weight"] = state.pop(key)
    else:
        state[key] = state[key][:, :-1]
    torch.save(state, folder / "best_model.pt")
    with pytest.raises(InputError, match=message):
        load_scgpt_checkpoint(folder)


def test_refuses_args_that_do_not_match_weights(folder):
    args = json.loads((folder / "args.json").read_text())
    args["embsize"] = 48
    (folder / "args.json").write_text(json.dumps(args))
    with pytest.raises(InputError, match="does not match"):
        load_scgpt_checkpoint(folder)


@pytest.mark.parametrize("name", ["args.json", "vocab.json", "best_model.pt"])
def test_refuses_missing_files(folder, name):
    (folder / name).unlink()
    with pytest.raises(InputError, match=name):
        load_scgpt_checkpoint(folder)


def test_needs_a_checkpoint_and_matching_genes(folder):
    with pytest.raises(InputError, match="--checkpoint DIR"):
        build_encoder("scgpt", _data(GENES))
    other = [f"X{i}" for i in range(50)] + GENES[:5]
    with pytest.raises(InputError, match="only 5 of the data's 55 genes"):
        build_encoder("scgpt", _data(other), checkpoint=folder)
    encoder = build_encoder("scgpt", _data([*GENES[:40], "X1"]), checkpoint=folder)
    assert encoder.genes == GENES[:40]
