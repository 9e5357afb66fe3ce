"""Programs: concepts as the two halves of each independent component of the embedding, measured from its ground state.

A Top-K SAE with a dictionary larger than the programs of the data spends its atoms on their combinations
("stimulated NK", "control NK"): each is one atom per group of cells, so a state shared by every cell type, or
a type seen in every state, gets no concept of its own (issue 21). Independent components do the opposite: an
additive shift shared by half of every type is one independent source, and so is a type. So the programs
dictionary is:

1. **Components.** FastICA (``logcosh``, unit-variance whitening) of the normalised training cells, with as
   many components as principal axes hold 99% of their variance (at most ``MAX_COMPONENTS``, 32).
2. **Ground state.** Each component is read from its median over the training cells: cells on either side of
   it carry that side's program. (The mode was tried: on a program planted in half of every type it often sat
   in the planted peak, so that only the program's absence had a concept; the median splits such a component.)
3. **Two concepts per component**, one per side: activation ``relu(+/- |a_j| (s_j - median_j))`` with unit
   decoder ``+/- a_j / |a_j|`` (``a_j`` the mixing column), decoder bias the ground state. With every concept
   kept this reconstructs the cells exactly (the ICA is a change of basis).
4. **Sparse per cell, not fixed k.** A concept fires where its component is more than ``tau`` standard
   deviations past the median on its side (a JumpReLU threshold per concept, ``TopKSAE.jump``); ``tau`` is the
   largest on a grid whose validation R^2 reaches ``R2_TARGET`` (0.99: the embedding's information is kept).
   Concepts do not compete for a cell: a weak program beside a strong type keeps its concept (a per-cell
   budget, keeping each cell's largest activations, was tried: it dropped the planted program in cells where
   the type dominated, AUROC 0.93 against 0.97).
5. **Reproducibility.** FastICA from ``n_seeds`` random starts (seeds ``seed`` onwards) on the training cells;
   the dictionary is the run that agrees best with the others (their medoid, as ICASSO picks a centrotype):
   on the planted sorted PBMC two FastICA starts share 30-100% of their halves above cosine 0.9, the medoids
   of seeds 0-4 and 5-9 100%. A concept is reproducible when at least ``min_share`` of the other runs hold a
   half within cosine ``threshold`` of it.

The result is a :class:`~scconcepts.sae.TopKSAE` with ``inference="jump"``, so attribution, steering, the
explorer and checkpoints use it as any SAE.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import numpy as np
import pandas as pd
import torch

from scconcepts._device import resolve_device
from scconcepts._errors import InputError
from scconcepts.sae._config import SAEConfig
from scconcepts.sae._consensus import MIN_SHARE, THRESHOLD, ConsensusResult, check_matching, match_to_runs
from scconcepts.sae._data import check_embedding, normaliser_stats
from scconcepts.sae._metrics import reconstruction_metrics
from scconcepts.sae._model import JUMP, TopKSAE
from scconcepts.sae._seed_run import SeedRun
from scconcepts.sae._train import MIN_CELLS, TrainingResult, split_rows

logger = logging.getLogger(__name__)

#: Share of the training variance the principal axes given to ICA must hold.
VARIANCE_KEPT = 0.99
#: Most independent components (twice as many concepts). ICA of more components than this on a few thousand
#: cells does not reproduce: on the 128-d hidden layer of scVI (sorted PBMC), 21% of 106 components' halves
#: recur in bootstrap ICAs, against 59% at 32 components (README, "Concept regimes").
MAX_COMPONENTS = 32
#: Validation R^2 the concepts' thresholds must keep.
R2_TARGET = 0.99
#: Thresholds tried, in standard deviations of each component past its median, largest first.
TAU_GRID = (2.0, 1.5, 1.0, 0.75, 0.5, 0.25, 0.0)
#: Training cells (at most) the ICA and the components' medians are fitted on.
MAX_FIT_CELLS = 50_000


def n_components_for(x: np.ndarray, *, variance: float = VARIANCE_KEPT, cap: int = MAX_COMPONENTS) -> int:
    """Principal axes of centred ``x`` needed to hold ``variance`` of its variance (at most ``cap``)."""
    singular = np.linalg.svd(x - x.mean(0), compute_uv=False)
    share = np.cumsum(singular**2) / max(float((singular**2).sum()), 1e-12)
    return int(min(cap, x.shape[1], np.searchsorted(share, variance) + 1))


def independent_components(x: np.ndarray, n_components: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """FastICA of the rows of ``x``: ``(unmixing, mixing, mean)``, unmixing ``m x d``, mixing ``d x m``."""
    import warnings

    from sklearn.decomposition import FastICA
    from sklearn.exceptions import ConvergenceWarning

    ica = FastICA(n_components=n_components, whiten="unit-variance", random_state=seed, max_iter=2000, tol=1e-5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ica.fit(x)
    return ica.components_, ica.mixing_, ica.mean_


def programs_dictionary(unmixing: np.ndarray, mixing: np.ndarray, mean: np.ndarray, centres: np.ndarray) -> TopKSAE:
    """The SAE of the halves of each component, read from the ground state ``mean + mixing @ centres``.

    Concept ``j`` is the positive side of component ``j``, concept ``m + j`` its negative side.
    """
    n_components, d_in = unmixing.shape
    lengths = np.linalg.norm(mixing, axis=0)  # the mixing column's length scales each source to embedding units
    directions = (mixing / np.clip(lengths, 1e-12, None)).T
    encoder = unmixing * lengths[:, None]
    sae = TopKSAE(d_in, 2 * n_components, n_components, inference=JUMP)
    with torch.no_grad():
        sae.W_dec.copy_(torch.as_tensor(np.concatenate([directions, -directions]), dtype=torch.float32))
        sae.W_enc.copy_(torch.as_tensor(np.concatenate([encoder, -encoder]), dtype=torch.float32))
        sae.b_enc.zero_()
        sae.b_dec.copy_(torch.as_tensor(mean + mixing @ centres, dtype=torch.float32))
    return sae.eval()


def choose_threshold(sae: TopKSAE, data: Any, val_rows: np.ndarray, *, target: float = R2_TARGET) -> float:
    """Set the concepts' thresholds to the largest ``tau`` of ``TAU_GRID`` whose validation R^2 reaches ``target``.

    A concept's threshold is ``tau`` standard deviations of its pre-activation (its component, scaled to the
    embedding) over the validation cells. Returns ``tau``.
    """
    with torch.no_grad():
        x = sae.normalise(torch.as_tensor(np.asarray(data[val_rows], dtype=np.float32), device=sae.W_dec.device))
        spread = sae.pre_activation(x).std(dim=0)
    for tau in TAU_GRID:
        sae.jump.copy_(tau * spread)
        if reconstruction_metrics(sae, data, val_rows, both_inferences=False)["r2"] >= target:
            return tau
    return 0.0


def _fit(x: np.ndarray, n_components: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    unmixing, mixing, mean = independent_components(x, n_components, seed)
    return unmixing, mixing, mean, np.median((x - mean) @ unmixing.T, axis=0)


def _seed_run(x: np.ndarray, n_components: int, seed: int) -> SeedRun:
    """One ICA of ``x`` (FastICA started from ``seed``) as a run whose atoms consensus code can match."""
    sae = programs_dictionary(*_fit(x, n_components, seed))
    state = {name: tensor.detach().cpu().numpy().copy() for name, tensor in sae.state_dict().items()}
    return SeedRun(seed, state, sae.k, JUMP, False, np.ones(sae.n_latents), 0)


def medoid(runs: list[SeedRun]) -> int:
    """Index of the run whose atoms best match every other run's (mean over runs of the mean best cosine)."""
    if len(runs) < 2:
        return 0
    agreement = [
        match_to_runs(run.decoder, runs[:i] + runs[i + 1 :])["matched_cosine"].mean() for i, run in enumerate(runs)
    ]
    return int(np.argmax(agreement))


def fit_programs(
    data: Any,
    config: SAEConfig | None = None,
    *,
    n_seeds: int = 5,
    threshold: float = THRESHOLD,
    min_share: float = MIN_SHARE,
    r2_target: float = R2_TARGET,
) -> ConsensusResult:
    """Learn the programs dictionary of an embedding (see the module docstring) and measure its reproducibility.

    Parameters
    ----------
    data
        Cells x dims embedding.
    config
        Only the split (``val_fraction``, ``test_fraction``, ``seed``) and ``device`` are used; ``seed`` also
        seeds the ICA.
    n_seeds
        ICAs of the training cells (FastICA started from seeds ``seed`` onwards); the dictionary is the one that
        agrees best with the others (their medoid), and each concept is matched to the others. 1: one ICA, no
        reproducibility measured.
    threshold, min_share
        A concept is reproducible when at least ``min_share`` of the other ICAs hold a half within cosine
        ``threshold`` of it.
    r2_target
        Validation R^2 the concepts' thresholds must keep.

    Returns
    -------
    The dictionary as a training result (no history), its per-concept table (``reproducibility``,
    ``matched_cosine``, ``reproducible``, ``component``, ``side``) and a summary.

    """
    config = config or SAEConfig()
    n_cells, d_in = check_embedding(data)
    if n_cells < MIN_CELLS:
        raise InputError(f"learning programs needs at least {MIN_CELLS} cells; the embedding has {n_cells}")
    check_matching(threshold, min_share)
    split = split_rows(n_cells, config.val_fraction, config.test_fraction, config.seed)
    rng = np.random.default_rng(config.seed)
    fit_rows = (
        split.train
        if len(split.train) <= MAX_FIT_CELLS
        else np.sort(rng.choice(split.train, MAX_FIT_CELLS, replace=False))
    )
    mean, scale = normaliser_stats(data, split.train)
    x = (np.asarray(data[fit_rows], dtype=np.float64) - mean) / scale
    n_components = n_components_for(x)
    runs = [_seed_run(x, n_components, config.seed + i) for i in range(n_seeds)]
    chosen = medoid(runs)
    sae = runs[chosen].to_sae()
    runs = runs[:chosen] + runs[chosen + 1 :]
    sae.mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
    sae.scale.fill_(scale)
    sae = sae.to(resolve_device(config.device))
    tau = choose_threshold(sae, data, split.val, target=r2_target)

    atoms = sae.W_dec.detach().cpu().numpy()
    if runs:
        table = match_to_runs(atoms, runs, threshold=threshold)
        table["reproducible"] = table["reproducibility"] >= min_share
    else:
        table = pd.DataFrame({"reproducibility": np.nan, "matched_cosine": np.nan}, index=range(len(atoms)))
    table["component"] = np.tile(np.arange(n_components), 2)
    table["side"] = np.repeat(["+", "-"], n_components)
    table["composite"] = False
    table["composite_of"] = ""
    table.index = pd.Index([str(i) for i in range(len(atoms))], name="concept")
    summary: dict[str, Any] = {
        "regime": "programs",
        "n_seeds": n_seeds,
        "seeds": [config.seed + i for i in range(n_seeds)],
        "medoid_seed": config.seed + chosen,
        "threshold": threshold,
        "min_share": min_share,
        "n_components": n_components,
        "tau": tau,
        "r2_target": r2_target,
        "n_concepts": len(atoms),
        "reproduced_share": float(table["reproducible"].mean()) if runs else float("nan"),
    }
    logger.info(
        "programs: %d independent components of %d dims (%.0f%% of the variance), %d concepts, each firing %.2g "
        "standard deviations past its median%s",
        n_components,
        d_in,
        100 * VARIANCE_KEPT,
        len(atoms),
        tau,
        f"; {summary['reproduced_share']:.0%} reproduced in the {n_seeds - 1} other ICAs" if runs else "",
    )
    resolved = dataclasses.replace(config.resolved(d_in, len(split.train)), k=n_components, inference=JUMP)
    training = TrainingResult(sae, resolved, split.train, split.val, split.test)
    return ConsensusResult(training, table, runs, summary)
