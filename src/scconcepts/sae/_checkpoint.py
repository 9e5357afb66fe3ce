"""What every SAE checkpoint reader shares: the file names, the :class:`Checkpoint` record, and weights -> SAE."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from scconcepts._errors import InputError
from scconcepts.sae._model import JUMP, TopKSAE

#: The formats :func:`read_checkpoint` reads, and what it calls each.
FORMATS = ("scconcepts", "saelens", "sparsify")
CFG = "cfg.json"
SAELENS_WEIGHTS = "sae_weights.safetensors"
SPARSIFY_WEIGHTS = "sae.safetensors"
#: A results folder keeps its SAE here.
RUN_SAE_DIR = "sae"


@dataclass
class Checkpoint:
    """An SAE read from a folder, with where it came from.

    ``format`` is one of :data:`FORMATS`; ``hook`` the model hook the library trained it on (SAELens
    ``hook_name``, a sparsify hookpoint), None when the checkpoint names none; ``architecture`` the library's
    name for it; ``info`` what else the checkpoint says (model name, our ``config.json``).
    """

    sae: TopKSAE
    format: str
    hook: str | None = None
    architecture: str = "topk"
    info: dict[str, Any] = field(default_factory=dict)


def from_weights(
    w_enc: torch.Tensor,
    b_enc: torch.Tensor,
    w_dec: torch.Tensor,
    b_dec: torch.Tensor,
    *,
    k: int | None = None,
    jump: torch.Tensor | None = None,
) -> TopKSAE:
    """A :class:`TopKSAE` with these weights, no normaliser, and Top-K (``k``) or threshold (``jump``) inference.

    ``w_enc`` and ``w_dec`` are latents x dims; the encoder reads ``x - b_dec``. Exactly one of ``k`` and
    ``jump`` (one threshold per latent) is given.
    """
    n_latents, d_in = w_dec.shape
    if w_enc.shape != w_dec.shape or b_enc.shape != (n_latents,) or b_dec.shape != (d_in,):
        raise InputError(
            f"the checkpoint's weights do not fit together: encoder {tuple(w_enc.shape)}, decoder "
            f"{tuple(w_dec.shape)}, biases {tuple(b_enc.shape)} and {tuple(b_dec.shape)}"
        )
    if (k is None) == (jump is None):
        raise ValueError("give exactly one of k and jump")
    if k is not None and not 0 < k <= n_latents:
        raise InputError(f"the checkpoint's k ({k}) must be between 1 and its {n_latents} latents")
    sae = TopKSAE(d_in, n_latents, n_latents if k is None else int(k), inference="encoder" if jump is None else JUMP)
    with torch.no_grad():
        for name, value in (("W_enc", w_enc), ("b_enc", b_enc), ("W_dec", w_dec), ("b_dec", b_dec)):
            getattr(sae, name).copy_(value.to(torch.float32))
        if jump is not None:
            sae.jump.copy_(jump.to(torch.float32).expand(n_latents))
    return sae.eval()
