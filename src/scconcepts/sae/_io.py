"""Save and load an SAE as a folder: ``model.safetensors`` (weights + normaliser) and ``config.json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from safetensors.torch import load_file, save_file

from scconcepts._errors import InputError
from scconcepts.sae._config import SAEConfig
from scconcepts.sae._model import TopKSAE

WEIGHTS = "model.safetensors"
CONFIG = "config.json"


def save_sae(
    sae: TopKSAE, path: str | Path, *, config: SAEConfig | None = None, extra: dict[str, Any] | None = None
) -> None:
    """Write ``sae`` into the folder ``path`` (created if needed)."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    tensors = {name: tensor.detach().cpu().contiguous() for name, tensor in sae.state_dict().items()}
    save_file(tensors, str(path / WEIGHTS))
    info = {
        "architecture": "topk",
        "d_in": sae.d_in,
        "n_latents": sae.n_latents,
        "k": sae.k,
        "batch_topk": sae.batch_topk,
        "inference": sae.inference,
        "normaliser": {"mean": sae.mean.tolist(), "scale": float(sae.scale)},
        "training": config.to_dict() if config is not None else None,
        **(extra or {}),
    }
    (path / CONFIG).write_text(json.dumps(info, indent=2))


def load_sae(path: str | Path, *, device: str = "cpu") -> TopKSAE:
    """Load an SAE folder written by :func:`save_sae`."""
    path = Path(path)
    if not (path / CONFIG).is_file() or not (path / WEIGHTS).is_file():
        raise InputError(f"{path} is not an SAE checkpoint folder ({CONFIG} and {WEIGHTS} expected)")
    info = json.loads((path / CONFIG).read_text())
    sae = TopKSAE(
        info["d_in"],
        info["n_latents"],
        info["k"],
        batch_topk=info.get("batch_topk", False),
        inference=info.get("inference", "encoder"),
    )
    state = load_file(str(path / WEIGHTS))
    expected = set(sae.state_dict())
    if set(state) != expected:
        raise InputError(f"{path / WEIGHTS} holds tensors {sorted(state)}, expected {sorted(expected)}")
    sae.load_state_dict(state)
    return sae.to(device).eval()
