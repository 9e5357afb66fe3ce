"""Clamp one concept in the SAE codes of some cells and rebuild their embeddings, the SAE's error term kept.

``steered = embedding + (new - old activation) x decoder row``, so an unsteered cell keeps its embedding exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from scconcepts.sae import TopKSAE
from scconcepts.steering._cells import parse_value


@torch.no_grad()
def steer_embedding(
    sae: TopKSAE, embedding: np.ndarray, concept: int, value: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Clamp ``concept`` in the SAE codes of ``embedding`` rows and rebuild the embeddings, error term kept.

    Returns
    -------
    ``(steered, current, target)``: steered embeddings, and the concept's activation before and after.

    """
    sae.eval()
    x = torch.as_tensor(np.asarray(embedding, dtype=np.float32), device=sae.W_dec.device)
    current = sae.encode(x)[:, concept].double().cpu().numpy()
    target = parse_value(value).target(current)
    atom = (sae.W_dec[concept] * sae.scale).double().cpu().numpy()  # decode() is linear: one unit's move
    steered = np.asarray(embedding, dtype=np.float64) + (target - current)[:, None] * atom[None, :]
    return steered.astype(np.float32), current, target
