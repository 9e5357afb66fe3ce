"""Build tiny random checkpoints in the official scGPT and Geneformer folder formats (for tests and benchmarks).

``make_tiny_scgpt(dir, genes)`` writes ``args.json``, ``vocab.json`` and ``best_model.pt`` with the key names
of a flash-attention-trained scGPT ``TransformerModel`` (``self_attn.Wqkv.*``) and its decoder heads.
``make_tiny_geneformer(dir, genes)`` writes a Hugging Face ``BertForMaskedLM`` folder (``config.json`` +
``model.safetensors``) with Geneformer's pickled token dictionary, gene medians and gene name -> Ensembl ID map.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from scconcepts.models._scgpt_model import ScgptTransformer


def scgpt_vocab(genes: Sequence[str]) -> dict[str, int]:
    """Vocabulary as the official ``vocab.json`` holds it: genes, then ``<pad>``, ``<cls>``, ``<eoc>``."""
    vocab = {str(g): i for i, g in enumerate(genes)}
    for token in ("<pad>", "<cls>", "<eoc>"):
        vocab[token] = len(vocab)
    return vocab


def scgpt_args(*, d_model: int, n_layers: int, n_heads: int, d_hid: int, max_seq_len: int = 1200) -> dict:
    """``args.json`` with the keys of the released whole-human model's file."""
    return {
        "embsize": d_model,
        "nheads": n_heads,
        "d_hid": d_hid,
        "nlayers": n_layers,
        "n_layers_cls": 3,
        "dropout": 0.2,
        "pad_token": "<pad>",
        "pad_value": -2,
        "mask_value": -1,
        "n_bins": 51,
        "input_style": "binned",
        "input_emb_style": "continuous",
        "max_seq_len": max_seq_len,
        "fast_transformer": True,
        "MVC": True,
        "USE_CLS": True,
    }


def _heads(d_model: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """Random tensors for the expression, classifier and MVC decoders an official checkpoint also holds."""
    shapes = {
        "decoder.fc.0.weight": (d_model, d_model),
        "decoder.fc.0.bias": (d_model,),
        "decoder.fc.2.weight": (d_model, d_model),
        "decoder.fc.2.bias": (d_model,),
        "decoder.fc.4.weight": (1, d_model),
        "decoder.fc.4.bias": (1,),
        "cls_decoder.out_layer.weight": (1, d_model),
        "cls_decoder.out_layer.bias": (1,),
        "mvc_decoder.gene2query.weight": (d_model, d_model),
        "mvc_decoder.gene2query.bias": (d_model,),
        "mvc_decoder.W.weight": (d_model, d_model),
    }
    for i in (0, 2, 4):
        shapes[f"cls_decoder._decoder.{i}.weight"] = (d_model, d_model)
        shapes[f"cls_decoder._decoder.{i}.bias"] = (d_model,)
    for i in (1, 3, 5):
        shapes[f"cls_decoder._decoder.{i}.weight"] = (d_model,)
        shapes[f"cls_decoder._decoder.{i}.bias"] = (d_model,)
    return {k: torch.randn(s, generator=generator) * 0.05 for k, s in shapes.items()}


def scgpt_state_dict(
    vocab: dict[str, int], *, d_model: int, n_layers: int, n_heads: int, d_hid: int, seed: int = 0
) -> dict[str, torch.Tensor]:
    """Random weights under the official key names (``Wqkv`` as flash-attention training saves them)."""
    torch.manual_seed(seed)
    model = ScgptTransformer(len(vocab), d_model, n_heads, d_hid, n_layers, pad_id=vocab["<pad>"])
    generator = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        # Spread the embeddings as official training does (uniform init, then learnt), and the layer norms'
        # affine terms, so that the tiny model's output depends clearly on its input.
        model.encoder.embedding.weight.uniform_(-0.1, 0.1, generator=generator)
        for name, param in model.named_parameters():
            if "norm" in name:
                param.add_(torch.randn(param.shape, generator=generator) * 0.1)
    state = {k.replace("self_attn.in_proj_", "self_attn.Wqkv."): v.clone() for k, v in model.state_dict().items()}
    state.update(_heads(d_model, generator))
    return state


def make_tiny_scgpt(
    directory: str | Path,
    genes: Sequence[str],
    *,
    d_model: int = 32,
    n_layers: int = 2,
    n_heads: int = 4,
    d_hid: int = 64,
    seed: int = 0,
) -> Path:
    """Write a tiny random scGPT checkpoint folder whose vocabulary is ``genes``; returns the folder."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    vocab = scgpt_vocab(genes)
    (directory / "vocab.json").write_text(json.dumps(vocab))
    args = scgpt_args(d_model=d_model, n_layers=n_layers, n_heads=n_heads, d_hid=d_hid)
    (directory / "args.json").write_text(json.dumps(args, indent=2))
    state = scgpt_state_dict(vocab, d_model=d_model, n_layers=n_layers, n_heads=n_heads, d_hid=d_hid, seed=seed)
    torch.save(state, directory / "best_model.pt")
    return directory


def ensembl_ids(genes: Sequence[str]) -> list[str]:
    """Made-up Ensembl-style gene IDs, one per gene name (stable: derived from the position)."""
    return [f"ENSG{i + 1:011d}" for i in range(len(genes))]


def make_tiny_geneformer(
    directory: str | Path,
    genes: Sequence[str],
    *,
    hidden: int = 32,
    n_layers: int = 3,
    n_heads: int = 4,
    intermediate: int = 64,
    max_input: int = 256,
    special_tokens: bool = True,
    seed: int = 0,
) -> Path:
    """Write a tiny random Geneformer checkpoint folder; returns the folder.

    The token dictionary maps made-up Ensembl IDs (and ``<pad>``, ``<mask>``, plus ``<cls>``/``<eos>`` when
    ``special_tokens``) to ids, as Geneformer's ``token_dictionary_gc104M.pkl`` does; the gene-name map sends
    each name in ``genes`` to its ID; gene medians are random positive numbers.
    """
    from transformers import BertConfig, BertForMaskedLM

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    ids = ensembl_ids(genes)
    specials = ["<pad>", "<mask>"] + (["<cls>", "<eos>"] if special_tokens else [])
    tokens = {name: i for i, name in enumerate(specials)}
    tokens.update({gene_id: len(specials) + i for i, gene_id in enumerate(ids)})
    rng = np.random.default_rng(seed)
    medians = {gene_id: float(m) for gene_id, m in zip(ids, rng.lognormal(0.5, 0.8, len(ids)), strict=True)}
    names = {str(g): gene_id for g, gene_id in zip(genes, ids, strict=True)}
    for filename, content in (
        ("token_dictionary_gc104M.pkl", tokens),
        ("gene_median_dictionary_gc104M.pkl", medians),
        ("gene_name_id_dict_gc104M.pkl", names),
    ):
        with open(directory / filename, "wb") as handle:
            pickle.dump(content, handle)
    config = BertConfig(
        vocab_size=len(tokens),
        hidden_size=hidden,
        num_hidden_layers=n_layers,
        num_attention_heads=n_heads,
        intermediate_size=intermediate,
        max_position_embeddings=max_input,
        hidden_act="relu",
        hidden_dropout_prob=0.02,
        attention_probs_dropout_prob=0.02,
        pad_token_id=tokens["<pad>"],
        initializer_range=0.2,
    )
    torch.manual_seed(seed)
    BertForMaskedLM(config).save_pretrained(directory)
    return directory
