"""Read the SAE decoder (one unit-norm row per concept) from a results folder's ``sae/`` checkpoint."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from scconcepts.results import SAE_DIR

logger = logging.getLogger(__name__)


def _from_safetensors(sae_dir: Path, n_concepts: int) -> np.ndarray | None:
    from safetensors.numpy import load_file

    for path in sorted(sae_dir.glob("*.safetensors")):
        tensors = load_file(str(path))
        names = sorted(tensors, key=lambda name: ("dec" not in name.lower(), name))
        for name in names:
            arr = tensors[name]
            if arr.ndim != 2 or "dec" not in name.lower() or "bias" in name.lower():
                continue
            if arr.shape[0] == n_concepts:
                return arr.astype(np.float32)
            if arr.shape[1] == n_concepts:
                return arr.T.astype(np.float32)
    return None


def _from_module(sae_dir: Path, n_concepts: int) -> np.ndarray | None:
    try:
        from scconcepts.sae import load_sae  # type: ignore[attr-defined]
    except ImportError:
        return None
    try:
        sae = load_sae(sae_dir)
        weight = sae.W_dec.detach().cpu().numpy()
    except Exception as error:
        logger.warning("could not load the SAE from %s (%s); reading its safetensors directly", sae_dir, error)
        return None
    return weight.astype(np.float32) if weight.shape[0] == n_concepts else None


def read_decoder(folder: Path, n_concepts: int) -> np.ndarray | None:
    """Return the decoder rows (concepts x embedding dims), unit-normalised, or ``None`` if absent.

    Parameters
    ----------
    folder
        Results folder.
    n_concepts
        Number of concepts the decoder must have rows for.

    """
    sae_dir = folder / SAE_DIR
    if not sae_dir.is_dir():
        return None
    dec = _from_safetensors(sae_dir, n_concepts)  # fast path: no torch import
    if dec is None:
        dec = _from_module(sae_dir, n_concepts)
    if dec is None:
        logger.warning("no decoder with %d rows found in %s; cosine neighbours are not shown", n_concepts, sae_dir)
        return None
    norms = np.linalg.norm(dec, axis=1, keepdims=True)
    return dec / np.where(norms > 0, norms, 1)
