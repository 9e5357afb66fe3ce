"""SAELens checkpoints (``cfg.json`` + ``sae_weights.safetensors``): read one as our SAE, write ours as one.

SAELens (6.x) encodes ``f(x') @ W_enc + b_enc`` with ``x' = x - b_dec`` when ``apply_b_dec_to_input`` (else
``x``), ``W_enc`` dims x latents, ``W_dec`` latents x dims, and ``f``: ReLU (``standard``), Top-K of the
pre-activations then ReLU (``topk``; with ``rescale_acts_by_decoder_norm`` the pre-activations are first
multiplied by the decoder rows' norms), or ReLU kept where the pre-activation exceeds a per-latent
``threshold`` (``jumprelu``: what SAELens saves a BatchTopK SAE as for inference). A BatchTopK training
checkpoint (``batchtopk``, with its running ``topk_threshold``) is read as SAELens turns it into an inference
SAE: a JumpReLU with that threshold for every latent. Configurations written before SAELens 6 (flat, with
``activation_fn``) are read too. Input normalisations computed per input (``layer_norm``,
``constant_norm_rescale``) and other architectures are refused in one line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from scconcepts._errors import InputError
from scconcepts.sae._checkpoint import CFG, SAELENS_WEIGHTS, Checkpoint, from_weights
from scconcepts.sae._model import JUMP, TopKSAE

SUPPORTED = ("standard", "topk", "batchtopk", "jumprelu")
#: The configuration layout :func:`write_saelens` follows (SAELens reads layouts before 6.0 as legacy ones).
LAYOUT_VERSION = "6.0.0"


def _architecture(cfg: dict[str, Any]) -> tuple[str, int | float | None]:
    """The architecture and k of a configuration, legacy (pre-6) ones included."""
    kwargs = cfg.get("activation_fn_kwargs") or {}
    activation = cfg.get("activation_fn", cfg.get("activation_fn_str", "relu"))
    if "architecture" not in cfg and activation == "topk" and kwargs.get("k") is not None:
        return "topk", kwargs["k"]
    architecture = str(cfg.get("architecture", "standard"))
    if architecture == "standard" and activation not in (None, "relu"):
        raise InputError(f"SAELens activation_fn {activation!r} is not supported (standard SAEs: relu only)")
    return architecture, cfg.get("k", kwargs.get("k"))


def _check_supported(cfg: dict[str, Any], architecture: str, source: Path) -> None:
    if architecture not in SUPPORTED:
        raise InputError(
            f"{source}: SAELens architecture {architecture!r} is not supported (only {', '.join(SUPPORTED)})"
        )
    norm = cfg.get("normalize_activations", "none")
    if norm not in (None, False, "none"):
        raise InputError(
            f"{source}: SAELens normalize_activations {norm!r} is not supported (only 'none': fold the "
            "normalisation into the weights first)"
        )
    if cfg.get("reshape_activations", "none") not in (None, "none"):
        raise InputError(f"{source}: SAELens reshape_activations {cfg['reshape_activations']!r} is not supported")


def _hook(cfg: dict[str, Any]) -> str | None:
    metadata = cfg.get("metadata") or {}
    hook = metadata.get("hook_name") or cfg.get("hook_name") or cfg.get("hook_point")
    return str(hook) if hook else None


def read_saelens(path: Path) -> Checkpoint:
    """Read the SAELens checkpoint folder ``path`` (see the module docstring)."""
    cfg = json.loads((path / CFG).read_text())
    architecture, k = _architecture(cfg)
    _check_supported(cfg, architecture, path)
    state = {name: tensor.to(torch.float32) for name, tensor in load_file(str(path / SAELENS_WEIGHTS)).items()}
    for name in ("scaling_factor", "finetuning_scaling_factor"):
        if name in state and not torch.allclose(state[name], torch.ones_like(state[name])):
            raise InputError(f"{path}: a SAELens {name} other than 1 is not supported")
    missing = {"W_enc", "b_enc", "W_dec", "b_dec"} - set(state)
    if missing:
        raise InputError(f"{path / SAELENS_WEIGHTS} lacks {', '.join(sorted(missing))}")
    w_enc, b_enc, w_dec, b_dec = state["W_enc"].T, state["b_enc"], state["W_dec"], state["b_dec"]
    if not cfg.get("apply_b_dec_to_input", True):  # x @ W + b == (x - b_dec) @ W + (b + b_dec @ W)
        b_enc = b_enc + b_dec @ w_enc.T
    if architecture in ("topk", "batchtopk") and cfg.get("rescale_acts_by_decoder_norm", False):
        norms = w_dec.norm(dim=1)  # topk(pre * norms) with the decoder read as w_dec / norms: fold them
        w_enc, b_enc, w_dec = w_enc * norms[:, None], b_enc * norms, w_dec / norms[:, None]
    if architecture == "topk":
        sae = from_weights(w_enc, b_enc, w_dec, b_dec, k=_integer_k(k, path))
    elif architecture == "batchtopk":
        if "topk_threshold" not in state:
            raise InputError(f"{path}: a SAELens batchtopk checkpoint needs its topk_threshold")
        sae = from_weights(w_enc, b_enc, w_dec, b_dec, jump=state["topk_threshold"].reshape(1))
    elif architecture == "jumprelu":
        if "threshold" not in state:
            raise InputError(f"{path}: a SAELens jumprelu checkpoint needs its threshold")
        sae = from_weights(w_enc, b_enc, w_dec, b_dec, jump=state["threshold"])
    else:  # standard: ReLU, a threshold of 0 everywhere
        sae = from_weights(w_enc, b_enc, w_dec, b_dec, jump=torch.zeros(1))
    model = (cfg.get("metadata") or {}).get("model_name") or cfg.get("model_name")
    return Checkpoint(sae, "saelens", _hook(cfg), architecture, {"model_name": model, "k": k})


def _integer_k(k: Any, path: Path) -> int:
    if k is None or float(k) != int(float(k)):
        raise InputError(f"{path}: a SAELens topk checkpoint needs a whole k, got {k!r}")
    return int(float(k))


def saelens_weights(sae: TopKSAE) -> tuple[str, dict[str, torch.Tensor]]:
    """Our SAE as a SAELens architecture and state dict with the same activations on raw embeddings.

    The normaliser is folded in: ``(x - mean) / scale - b_dec == (x - b_dec') / scale`` with
    ``b_dec' = mean + scale * b_dec``, so the encoder is ``W_enc / scale`` and the decoder ``W_dec * scale``.
    """
    if sae.inference == "pursuit":
        raise InputError(
            "this SAE encodes cells by pursuit, which SAELens does not have; its linear encoder would give other "
            "activations"
        )
    scale = float(sae.scale)
    state = {
        "W_enc": (sae.W_enc.detach() / scale).T,
        "b_enc": sae.b_enc.detach(),
        "W_dec": sae.W_dec.detach() * scale,
        "b_dec": sae.mean.detach() + scale * sae.b_dec.detach(),
    }
    if sae.inference == JUMP:
        state["threshold"] = sae.jump.detach()
    elif sae.batch_topk:
        state["threshold"] = sae.threshold.detach().expand(sae.n_latents)
    architecture = "jumprelu" if "threshold" in state else "topk"
    return architecture, {name: value.float().cpu().contiguous() for name, value in state.items()}


def write_saelens(sae: TopKSAE, path: Path, *, hook: str | None = None, model: str | None = None) -> None:
    """Write ``sae`` into the new folder ``path`` as a SAELens checkpoint (``SAE.load_from_disk`` reads it)."""
    architecture, state = saelens_weights(sae)
    cfg: dict[str, Any] = {
        "architecture": architecture,
        "d_in": sae.d_in,
        "d_sae": sae.n_latents,
        "dtype": "float32",
        "device": "cpu",
        "apply_b_dec_to_input": True,
        "normalize_activations": "none",
        "reshape_activations": "none",
        "metadata": {
            "sae_lens_version": LAYOUT_VERSION,
            "hook_name": hook,
            "model_name": model,
            "written_by": "scconcepts export",
        },
    }
    if architecture == "topk":
        cfg.update(k=sae.k, rescale_acts_by_decoder_norm=False)
    path.mkdir(parents=True)
    save_file(state, str(path / SAELENS_WEIGHTS))
    (path / CFG).write_text(json.dumps(cfg, indent=2))
