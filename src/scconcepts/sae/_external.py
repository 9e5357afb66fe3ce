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
from pathlib import Path

from scconcepts._errors import InputError
from scconcepts.sae._checkpoint import CFG, RUN_SAE_DIR, SAELENS_WEIGHTS, SPARSIFY_WEIGHTS, Checkpoint
from scconcepts.sae._io import CONFIG, WEIGHTS, load_sae
from scconcepts.sae._model import TopKSAE
from scconcepts.sae._saelens import read_saelens
from scconcepts.sae._sparsify import read_sparsify


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
