"""Our scGPT encoder against the official scgpt code (wheel installed by scripts/install-scgpt-reference.sh).

The official modules are imported from the wheel's files: ``scgpt/model/model.py`` (TransformerModel),
``scgpt/utils/util.py`` (``load_pretrained``), ``scgpt/preprocess.py`` (``binning``) and
``scgpt/data_collator.py`` (``DataCollator``). Only what cannot be imported here is stubbed: the package's
``__init__`` (it imports torchtext and the training stack) is replaced by a bare package holding its logger,
and ``IPython`` (imported by util.py for notebook helpers) by an empty module.
"""

from __future__ import annotations

import importlib
import json
import logging
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch

import scconcepts
from scconcepts.models._scgpt import build_scgpt
from scconcepts.models._scgpt_tokens import bin_values, tokenize_scgpt
from scconcepts.models._tokens import hashed_uniform

from ._checkpoints import scgpt_args, scgpt_vocab

WHEEL_DIRS = [Path(sys.prefix) / "scgpt-reference", Path(__file__).parents[2] / ".venv" / "scgpt-reference"]
D_MODEL, N_LAYERS, N_HEADS, D_HID = 64, 3, 4, 96


@pytest.fixture(scope="module")
def pbmc():
    return scconcepts.ds.pbmc68k()


@pytest.fixture(scope="module")
def official():
    """The official scgpt modules, imported from the installed wheel's files."""
    root = next((d for d in WHEEL_DIRS if (d / "scgpt" / "model" / "model.py").is_file()), None)
    if root is None:
        pytest.fail("the official scgpt wheel is not installed; run `bash scripts/install-scgpt-reference.sh`")
    package = types.ModuleType("scgpt")
    package.__path__ = [str(root / "scgpt")]
    package.logger = logging.getLogger("scGPT")
    model_pkg = types.ModuleType("scgpt.model")
    model_pkg.__path__ = [str(root / "scgpt" / "model")]
    ipython = types.ModuleType("IPython")
    ipython.get_ipython = lambda: None
    with pytest.MonkeyPatch.context() as patch:
        for name in [n for n in sys.modules if n == "scgpt" or n.startswith("scgpt.")]:
            patch.delitem(sys.modules, name)
        patch.setitem(sys.modules, "scgpt", package)
        patch.setitem(sys.modules, "scgpt.model", model_pkg)
        if importlib.util.find_spec("IPython") is None:
            patch.setitem(sys.modules, "IPython", ipython)
        modules = types.SimpleNamespace(
            model=importlib.import_module("scgpt.model.model"),
            util=importlib.import_module("scgpt.utils.util"),
            preprocess=importlib.import_module("scgpt.preprocess"),
            collator=importlib.import_module("scgpt.data_collator"),
        )
        assert modules.model.__file__.startswith(str(root))
        yield modules


class _Vocab(dict):
    """What TransformerModel reads from its ``vocab`` argument: ``vocab[token]``."""


def _official_model(official, vocab: dict[str, int]) -> torch.nn.Module:
    """TransformerModel built as the official ``embed_data`` builds it (without flash attention)."""
    return official.model.TransformerModel(
        ntoken=len(vocab),
        d_model=D_MODEL,
        nhead=N_HEADS,
        d_hid=D_HID,
        nlayers=N_LAYERS,
        nlayers_cls=3,
        n_cls=1,
        vocab=_Vocab(vocab),
        dropout=0.2,
        pad_token="<pad>",
        pad_value=-2,
        do_mvc=True,
        do_dab=False,
        use_batch_labels=False,
        domain_spec_batchnorm=False,
        explicit_zero_prob=False,
        use_fast_transformer=False,
        pre_norm=False,
    ).eval()


@pytest.fixture(scope="module")
def checkpoint(official, tmp_path_factory, pbmc):
    """A checkpoint saved from the official TransformerModel's own state dict, keys as flash training names them."""
    genes = list(pbmc.var_names[:600]) + [f"GENE{i}" for i in range(200)]
    vocab = scgpt_vocab(genes)
    torch.manual_seed(3)
    model = _official_model(official, vocab)
    generator = torch.Generator().manual_seed(4)
    with torch.no_grad():
        for param in model.parameters():
            param.add_(torch.randn(param.shape, generator=generator) * 0.05)
    state = {k.replace("self_attn.in_proj_", "self_attn.Wqkv."): v for k, v in model.state_dict().items()}
    folder = tmp_path_factory.mktemp("official_scgpt")
    torch.save(state, folder / "best_model.pt")
    (folder / "vocab.json").write_text(json.dumps(vocab))
    args = scgpt_args(d_model=D_MODEL, n_layers=N_LAYERS, n_heads=N_HEADS, d_hid=D_HID)
    (folder / "args.json").write_text(json.dumps(args))
    return folder, vocab, state


def test_cell_embeddings_equal_official_transformer(official, checkpoint, pbmc):
    folder, vocab, state = checkpoint
    encoder = build_scgpt(pbmc, checkpoint=folder, max_length=120)
    x = encoder.expression(pbmc)[:48].toarray()
    tokens = encoder.tokenize(x, encoder.context(pbmc[:48]))
    assert int(tokens.lengths.max()) == 120  # most cells were sampled down to max_length

    reference = _official_model(official, vocab)
    official.util.load_pretrained(reference, torch.load(folder / "best_model.pt"), verbose=False)
    loaded = reference.state_dict()
    for key, value in state.items():  # the official loader really took every tensor (it skips silently)
        assert torch.equal(loaded[key.replace("Wqkv.", "in_proj_")], value), key
    with torch.no_grad():
        states = reference._encode(tokens.genes, tokens.values, src_key_padding_mask=tokens.genes.eq(vocab["<pad>"]))
        expected = states[:, 0, :].numpy()
        expected = expected / np.linalg.norm(expected, axis=1, keepdims=True)
        ours = encoder.encode_tokens(tokens).numpy()
        ours_from_counts = encoder.encode(torch.as_tensor(x), torch.as_tensor(encoder.context(pbmc[:48]))).numpy()

    np.testing.assert_allclose(ours, expected, atol=1e-5)
    np.testing.assert_allclose(ours_from_counts, expected, atol=1e-5)
    # the embeddings are informative: cells differ far more than the tolerance
    assert np.linalg.norm(expected - expected.mean(0), axis=1).mean() > 0.05


def test_binning_equals_official_given_the_same_random_numbers(official):
    rng = np.random.default_rng(0)
    for n in (1, 2, 7, 60, 400):
        row = rng.poisson(2.0, n).astype(np.float64) + 1  # many ties, as counts have
        # the official code draws from numpy's global generator
        np.random.seed(n)  # noqa: NPY002
        expected = official.preprocess.binning(row.copy(), n_bins=51)
        np.random.seed(n)  # noqa: NPY002
        ours = bin_values(row, 51, np.random.rand(n))  # noqa: NPY002
        np.testing.assert_array_equal(ours, expected)
        assert ours.min() >= 1 and ours.max() <= 50


def test_tokens_equal_official_dataset_and_collator(official, checkpoint, pbmc, monkeypatch):
    """The official pipeline (raw counts -> <cls> + expressed genes -> DataCollator binning and padding)."""
    _, vocab, _ = checkpoint
    encoder = build_scgpt(pbmc, checkpoint=checkpoint[0])
    x = encoder.expression(pbmc)[:32].toarray().astype(np.float32)
    seeds = encoder.context(pbmc[:32])
    ours = tokenize_scgpt(x, encoder.gene_tokens, seeds, cls_id=vocab["<cls>"], pad_id=vocab["<pad>"], pad_value=-2)

    # the official collator draws tie-breaking numbers with np.random.rand, one call per cell in order:
    # hand it the numbers our tokeniser derives for the same (cell, gene) pairs
    draws = []
    for row, seed in zip(x, seeds, strict=True):
        expressed = np.flatnonzero(row)
        draws.append(hashed_uniform(np.full(len(expressed), seed), encoder.gene_tokens[expressed], salt=2))
    queue = iter(draws)
    monkeypatch.setattr(official.preprocess.np.random, "rand", lambda n: next(queue))
    examples = []
    for row in x:
        expressed = np.flatnonzero(row)
        genes = np.insert(encoder.gene_tokens[expressed], 0, vocab["<cls>"])
        values = np.insert(row[expressed], 0, -2)
        examples.append({"genes": torch.from_numpy(genes).long(), "expressions": torch.from_numpy(values).float()})
    collator = official.collator.DataCollator(
        do_padding=True, pad_token_id=vocab["<pad>"], pad_value=-2, do_mlm=False, do_binning=True, max_length=1200
    )
    batch = collator(examples)

    assert torch.equal(batch["gene"], ours.genes)
    np.testing.assert_array_equal(batch["expr"].numpy(), ours.values.numpy())
    assert torch.equal(batch["gene"].eq(vocab["<pad>"]), ours.padding)


@pytest.mark.parametrize("number", [1, 2, 3])
def test_token_states_equal_official_layers_by_hooks(official, checkpoint, pbmc, number, tmp_path):
    """tl.token_activations' states at layer_<number> are the official layer's outputs at the gene tokens."""
    folder, vocab, _ = checkpoint
    encoder = build_scgpt(pbmc, checkpoint=folder, max_length=120)
    cells = pbmc[:24]
    store = scconcepts.tl.token_activations(cells, encoder, layer=f"layer_{number}", path=tmp_path / "s", batch_size=7)
    tokens = encoder.tokenize(encoder.expression(cells).toarray(), encoder.context(cells))

    reference = _official_model(official, vocab)
    official.util.load_pretrained(reference, torch.load(folder / "best_model.pt"), verbose=False)
    seen = {}

    def hook(_module, _inputs, output):
        seen["states"] = output.to_padded_tensor(0.0, (*tokens.genes.shape, D_MODEL)) if output.is_nested else output

    handle = reference.transformer_encoder.layers[number - 1].register_forward_hook(hook)
    with torch.no_grad():
        reference._encode(tokens.genes, tokens.values, src_key_padding_mask=tokens.genes.eq(vocab["<pad>"]))
    handle.remove()
    expected = seen["states"].numpy()
    column = {int(t): i for i, t in enumerate(encoder.gene_tokens)}
    for i in range(cells.n_obs):
        genes = tokens.genes[i][~tokens.padding[i]][1:].numpy()  # <cls> is kept apart
        order = np.argsort([column[int(t)] for t in genes])
        mine = np.flatnonzero(store.cells == i)
        assert [encoder.gene_tokens[g] for g in store.genes[mine]] == genes[order].tolist()
        np.testing.assert_allclose(store.states[mine], expected[i, 1 : 1 + len(genes)][order], atol=1e-5)
        np.testing.assert_allclose(store.cls[i], expected[i, 0], atol=1e-5)
    assert store.n_tokens == int((~tokens.padding).sum()) - cells.n_obs
