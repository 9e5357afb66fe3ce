"""Which torch device the models run on: ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``, checked once."""

from __future__ import annotations

import logging
from typing import Any

import torch

from scconcepts._errors import InputError

logger = logging.getLogger(__name__)

#: What ``--device`` and ``device=`` accept.
DEVICES = "auto, cpu, cuda, cuda:N, mps"


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """The torch device to run on; ``"auto"`` (or ``None``) is the first CUDA GPU when torch sees one, else the CPU.

    Raises
    ------
    InputError
        For a name torch does not know, or a GPU that this machine (or this torch build) does not offer.

    """
    if device is None or (isinstance(device, str) and device.strip().lower() == "auto"):
        chosen = torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
        logger.debug("device: %s (auto)", chosen)
        return chosen
    try:
        chosen = torch.device(device.strip().lower() if isinstance(device, str) else device)
    except (RuntimeError, TypeError, ValueError):
        raise InputError(f"unknown device {device!r}; choose one of {DEVICES}") from None
    if chosen.type == "cuda":
        if not torch.cuda.is_available():
            build = f"torch {torch.__version__}" + ("" if torch.version.cuda else ", built without CUDA")
            raise InputError(
                f"device {device!r} asked for, but no CUDA GPU is available ({build}); use 'cpu' or 'auto'"
            )
        count = torch.cuda.device_count()
        index = 0 if chosen.index is None else chosen.index
        if index >= count:
            raise InputError(f"device {device!r}: this machine has {count} CUDA GPU(s), cuda:0 to cuda:{count - 1}")
        return torch.device("cuda", index)
    if chosen.type == "mps" and not torch.backends.mps.is_available():
        raise InputError(f"device {device!r}: no Apple MPS device is available; use 'cpu' or 'auto'")
    if chosen.type not in ("cpu", "cuda", "mps"):
        raise InputError(f"unsupported device {device!r}; choose one of {DEVICES}")
    return chosen


def move_models(*models: Any, device: str | torch.device | None) -> torch.device:
    """Check ``device`` (see :func:`resolve_device`) and move each model there (an encoder, an SAE); return it.

    Raises
    ------
    InputError
        For a device this machine does not offer, or an encoder that runs on the CPU only.

    """
    chosen = resolve_device(device)
    for model in models:
        model.to(chosen)
    return chosen
