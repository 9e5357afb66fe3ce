"""``scc.sae.load(DIR)``: an SAE checkpoint of ours, of SAELens or of sparsify, as our :class:`TopKSAE`.

The folder is recognised by its files: ``config.json`` + ``model.safetensors`` (ours, also a results folder's
``sae/``), ``cfg.json`` + ``sae_weights.safetensors`` (SAELens), ``cfg.json`` + ``sae.safetensors`` (sparsify).
An SAE from a library becomes a :class:`TopKSAE` whose :meth:`~TopKSAE.encode` gives the library's activations:
no normaliser (mean 0, scale 1), the library's weights in our orientation, Top-K SAEs with the ``"encoder"``
inference and ReLU / JumpReLU / BatchTopK SAEs with the ``"jump"`` inference (each latent kept above its own
threshold, 0 for a ReLU).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from scconcepts._errors import InputError
from scconcepts.sae._io import CONFIG, WEIGHTS, load_sae
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


def load(path: str | Path, *, device: str = "cpu") -> TopKSAE:
    """Load the SAE in ``path``: ours, SAELens' or sparsify's (see the module docstring).

    Parameters
    ----------
    path
        An SAE folder (ours, SAELens ``cfg.json`` + ``sae_weights.safetensors``, sparsify ``cfg.json`` +
        ``sae.safetensors``) or a results folder of ``scconcepts run`` (its ``sae/`` is read).
    device
        Torch device to put it on.

    Returns
    -------
    The SAE, in evaluation mode; its :meth:`~TopKSAE.encode` gives the library's activations.

    Raises
    ------
    InputError
        In one line: the folder is none of those, or the checkpoint uses what scconcepts does not support.

    """
    return read_checkpoint(path).sae.to(device).eval()


def read_checkpoint(path: str | Path) -> Checkpoint:
    """Read the SAE folder ``path`` (see :func:`load`) with its format, hook and architecture."""
    from scconcepts.sae._saelens import read_saelens
    from scconcepts.sae._sparsify import read_sparsify

    path = Path(path)
    if not path.is_dir():
        raise InputError(f"--sae {path}: no such folder")
    if (path / RUN_SAE_DIR / CONFIG).is_file() and not (path / CONFIG).is_file():
        path = path / RUN_SAE_DIR
    if (path / CONFIG).is_file() and (path / WEIGHTS).is_file():
        info = json.loads((path / CONFIG).read_text())
        hook = info.get("layer") if isinstance(info.get("layer"), str) else None
        return Checkpoint(load_sae(path), "scconcepts", hook, str(info.get("architecture", "topk")), info)
    if (path / CFG).is_file() and (path / SAELENS_WEIGHTS).is_file():
        return read_saelens(path)
    if (path / CFG).is_file() and (path / SPARSIFY_WEIGHTS).is_file():
        return read_sparsify(path)
    raise InputError(
        f"{path} is not an SAE checkpoint: expected {CONFIG} + {WEIGHTS} (scconcepts), {CFG} + {SAELENS_WEIGHTS} "
        f"(SAELens) or {CFG} + {SPARSIFY_WEIGHTS} (sparsify)"
    )


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
