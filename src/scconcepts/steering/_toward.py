"""Which concepts separate a target state from the source, and the source cells' codes moved toward the target's.

**Choice** (``concepts="auto"``). For every concept, the effect size of its activation between target and
source cells: Cohen's ``d = (mean_target - mean_source) / sqrt((var_target + var_source) / 2)``. The concepts
with ``|d| >= MIN_EFFECT`` (0.5, a "medium" effect by Cohen's convention) are used, strongest first; with
``reproducible_only`` only concepts whose ``reproducible`` column (concept table) is true are candidates. If
no concept reaches ``MIN_EFFECT``, the single strongest is used (and a warning logged). A list of ids or
labels replaces the choice.

**Move.** On the chosen concepts each source cell's activation ``z`` becomes ``z + strength * (goal - z)``,
``goal`` the target cells' mean activation (``match="mean"``) or the target's quantile at the cell's rank among
the source cells (``match="quantile"``, which keeps the cells' spread). Other concepts keep their activation.
The embedding is rebuilt keeping the SAE's error term: ``steered = embedding + (z_new - z) @ decoder`` (the
SAE's decoder is linear, so this equals ``decode(z_new) + (embedding - decode(z))``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch

from scconcepts._errors import InputError
from scconcepts.sae import TopKSAE
from scconcepts.steering._cells import resolve_concept

logger = logging.getLogger(__name__)

#: Smallest |Cohen's d| of a concept's activation (target vs source) for the automatic choice.
MIN_EFFECT = 0.5
MATCHES = ("mean", "quantile")


@torch.no_grad()
def codes_of(sae: TopKSAE, embedding: np.ndarray, batch: int = 4096) -> np.ndarray:
    """Dense concept activations of ``embedding`` rows (cells x concepts, float64)."""
    sae.eval()
    out = []
    for start in range(0, embedding.shape[0], batch):
        x = torch.as_tensor(np.asarray(embedding[start : start + batch], dtype=np.float32), device=sae.W_dec.device)
        out.append(sae.encode(x).double().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, sae.n_latents))


def atoms_of(sae: TopKSAE) -> np.ndarray:
    """Embedding-space move of one unit of each concept (concepts x dim): the decoder rows times the scale."""
    with torch.no_grad():
        return (sae.W_dec * sae.scale).double().cpu().numpy()


def effect_sizes(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Cohen's d of each concept's activation, target vs source (0 where neither varies)."""
    diff = target.mean(axis=0) - source.mean(axis=0)
    pooled = np.sqrt((target.var(axis=0, ddof=1) + source.var(axis=0, ddof=1)) / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.where(pooled > 1e-12, diff / pooled, np.where(np.abs(diff) > 1e-12, np.sign(diff) * np.inf, 0.0))
    return d


def _reproducible(table: pd.DataFrame | None, n: int) -> np.ndarray:
    if table is None or "reproducible" not in table:
        return np.ones(n, dtype=bool)
    values = table["reproducible"].to_numpy()
    return np.asarray([bool(v) if v is not None and not pd.isna(v) else False for v in values], dtype=bool)


def choose_concepts(
    source: np.ndarray,
    target: np.ndarray,
    *,
    concepts: str | Sequence[int | str] = "auto",
    table: pd.DataFrame | None = None,
    reproducible_only: bool = False,
    min_effect: float = MIN_EFFECT,
) -> pd.DataFrame:
    """The concepts to steer, strongest ``|effect|`` first.

    Columns: ``concept``, ``label``, ``effect`` (Cohen's d), ``mean_source``, ``mean_target``, ``reproducible``.

    Parameters
    ----------
    source, target
        Concept activations of the source and target cells (cells x concepts).
    concepts
        ``"auto"`` (see the module docstring), or concept ids / exact labels (a list, or a comma-separated string).
    table
        The concept table (labels, ``reproducible``).
    reproducible_only
        Choose among reproducible concepts only (``"auto"``).
    min_effect
        Smallest ``|d|`` chosen (``"auto"``).

    """
    n = source.shape[1]
    d = effect_sizes(source, target)
    reproducible = _reproducible(table, n)
    if isinstance(concepts, str) and concepts.strip().lower() == "auto":
        candidates = np.flatnonzero(reproducible) if reproducible_only else np.arange(n)
        if candidates.size == 0:
            raise InputError("no concept of this run is reproducible; steer without --reproducible-only")
        strength = np.nan_to_num(np.abs(d[candidates]), posinf=1e12)
        chosen = candidates[strength >= min_effect]
        if chosen.size == 0:
            chosen = candidates[[int(np.argmax(strength))]]
            logger.warning(
                "no concept separates target from source by |d| >= %.2g; the strongest (concept %d, d = %.2g) is used",
                min_effect,
                chosen[0],
                d[chosen[0]],
            )
    else:
        names = concepts.split(",") if isinstance(concepts, str) else list(concepts)
        if not names:
            raise InputError("--concepts is empty; give auto or concept ids")
        chosen = np.unique([resolve_concept(str(c).strip(), table, n) for c in names])
    chosen = chosen[np.argsort(-np.nan_to_num(np.abs(d[chosen]), posinf=1e12), kind="stable")]
    labels = table["label"].astype(str).to_numpy() if table is not None and "label" in table else None
    return pd.DataFrame(
        {
            "concept": chosen.astype(int),
            "label": labels[chosen] if labels is not None else [""] * len(chosen),
            "effect": d[chosen],
            "mean_source": source[:, chosen].mean(axis=0),
            "mean_target": target[:, chosen].mean(axis=0),
            "reproducible": reproducible[chosen],
        }
    )


def goal_codes(source: np.ndarray, target: np.ndarray, chosen: np.ndarray, *, match: str = "mean") -> np.ndarray:
    """Target activations of the chosen concepts for each source cell (source cells x chosen)."""
    if match not in MATCHES:
        raise InputError(f"match {match!r} is not one of {', '.join(MATCHES)}")
    if match == "mean":
        return np.broadcast_to(target[:, chosen].mean(axis=0), (source.shape[0], len(chosen))).copy()
    goal = np.empty((source.shape[0], len(chosen)))
    ranks = (np.arange(source.shape[0]) + 0.5) / source.shape[0]
    for column, concept in enumerate(chosen):
        order = np.argsort(source[:, concept], kind="stable")
        goal[order, column] = np.quantile(target[:, concept], ranks)
    return goal


def move_codes(source: np.ndarray, goal: np.ndarray, chosen: np.ndarray, strength: float) -> np.ndarray:
    """Source activations with the chosen concepts moved ``strength`` of the way to ``goal`` (never below 0)."""
    if not np.isfinite(strength) or strength <= 0:
        raise InputError(f"--strength {strength!r}: use a finite number > 0 (1 sets the codes to the target's)")
    moved = source.copy()
    moved[:, chosen] = np.clip(source[:, chosen] + strength * (goal - source[:, chosen]), 0, None)
    return moved
