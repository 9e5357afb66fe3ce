"""sparsify checkpoints (``cfg.json`` + ``sae.safetensors``): read one as our SAE, write ours as one.

sparsify's sparse coder encodes ``topk(relu((x - b_dec) @ encoder.weight.T + encoder.bias))`` with
``encoder.weight`` and ``W_dec`` both latents x dims, and decodes ``acts @ W_dec + b_dec``: our Top-K encoder
exactly. Its trainer writes one such folder per hookpoint, named after it, beside a ``config.json`` listing the
hookpoints; the folder's name is read as the hook when that file lists it or when it names a layer. Transcoders
(``transcode``), a skip connection, the ``groupmax`` activation and checkpoints without a decoder are refused in
one line (``multi_topk`` only changes the training loss and is read).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from scconcepts._errors import InputError
from scconcepts.sae._checkpoint import CFG, SPARSIFY_WEIGHTS, Checkpoint, from_weights
from scconcepts.sae._hooks import hook_layer
from scconcepts.sae._model import TopKSAE


def _hook(path: Path) -> str | None:
    """The hookpoint a trainer's folder is named after, or None."""
    trainer = path.parent / "config.json"
    if trainer.is_file():
        try:
            listed = json.loads(trainer.read_text()).get("hookpoints") or []
        except (json.JSONDecodeError, AttributeError):
            listed = []
        if path.name in listed:
            return path.name
    return path.name if hook_layer(path.name) is not None else None


def read_sparsify(path: Path) -> Checkpoint:
    """Read the sparsify checkpoint folder ``path`` (see the module docstring)."""
    cfg = json.loads((path / CFG).read_text())
    for option, what in (("transcode", "transcoders"), ("skip_connection", "a skip connection")):
        if cfg.get(option):
            raise InputError(f"{path}: sparsify {option} is set; {what} are not supported (only autoencoders)")
    if cfg.get("activation", "topk") != "topk":
        raise InputError(f"{path}: sparsify activation {cfg['activation']!r} is not supported (only topk)")
    state = {name: tensor.to(torch.float32) for name, tensor in load_file(str(path / SPARSIFY_WEIGHTS)).items()}
    missing = {"encoder.weight", "encoder.bias", "W_dec", "b_dec"} - set(state)
    if missing:
        raise InputError(f"{path / SPARSIFY_WEIGHTS} lacks {', '.join(sorted(missing))}")
    if "d_in" in cfg and int(cfg["d_in"]) != state["b_dec"].shape[0]:
        raise InputError(f"{path}: cfg.json says d_in {cfg['d_in']} but b_dec has {state['b_dec'].shape[0]} dims")
    sae = from_weights(state["encoder.weight"], state["encoder.bias"], state["W_dec"], state["b_dec"], k=int(cfg["k"]))
    return Checkpoint(sae, "sparsify", _hook(path), "topk", {"k": int(cfg["k"])})


def sparsify_weights(sae: TopKSAE) -> dict[str, torch.Tensor]:
    """Our SAE as a sparsify state dict with the same activations on raw embeddings (normaliser folded in).

    sparsify has Top-K encoders only: SAEs with thresholds (programs, BatchTopK) or pursuit are refused.
    """
    if sae.inference != "encoder" or sae.batch_topk:
        how = "by pursuit" if sae.inference == "pursuit" else "with per-concept thresholds"
        raise InputError(
            f"this SAE encodes cells {how}; sparsify has Top-K encoders only (export it with --format saelens, "
            "or run --regime sae with --k above 8)"
        )
    scale = float(sae.scale)
    state = {
        "encoder.weight": sae.W_enc.detach() / scale,
        "encoder.bias": sae.b_enc.detach(),
        "W_dec": sae.W_dec.detach() * scale,
        "b_dec": sae.mean.detach() + scale * sae.b_dec.detach(),
    }
    return {name: value.float().cpu().contiguous() for name, value in state.items()}


def write_sparsify(sae: TopKSAE, path: Path) -> None:
    """Write ``sae`` into the new folder ``path`` as a sparsify checkpoint (``SparseCoder.load_from_disk``)."""
    state = sparsify_weights(sae)
    norms = state["W_dec"].norm(dim=1)
    cfg: dict[str, Any] = {
        "activation": "topk",
        "expansion_factor": max(1, sae.n_latents // sae.d_in),
        "normalize_decoder": bool(torch.allclose(norms, torch.ones_like(norms), atol=1e-5)),
        "num_latents": sae.n_latents,
        "k": sae.k,
        "multi_topk": False,
        "skip_connection": False,
        "transcode": False,
        "d_in": sae.d_in,
    }
    path.mkdir(parents=True)
    save_file(state, str(path / SPARSIFY_WEIGHTS))
    (path / CFG).write_text(json.dumps(cfg, indent=2))
