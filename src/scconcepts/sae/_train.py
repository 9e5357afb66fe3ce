"""Training of a Top-K SAE: centring, AuxK revival of dead latents, unit-norm decoder, early stopping."""

from __future__ import annotations

import copy
import logging
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from scconcepts._device import resolve_device
from scconcepts._errors import InputError
from scconcepts._progress import progress
from scconcepts._reproducible import deterministic
from scconcepts.sae._config import SAEConfig
from scconcepts.sae._data import check_embedding, geometric_median, iter_minibatches, normaliser_stats
from scconcepts.sae._init import kmeans_atoms
from scconcepts.sae._metrics import reconstruction_metrics
from scconcepts.sae._model import TopKSAE
from scconcepts.sae._topk import batch_topk_mask

logger = logging.getLogger(__name__)

MIN_CELLS = 10


@dataclass
class Split:
    """Row indices (sorted) of the cells an SAE trains on, validates on (early stopping) and is tested on."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


@dataclass
class TrainingResult:
    """A trained SAE with its train / validation / test split and training history.

    ``val_rows`` chose the best epoch (early stopping); ``test_rows`` were seen by neither training nor
    early stopping: report held-out metrics on them.
    """

    sae: TopKSAE
    config: SAEConfig
    train_rows: np.ndarray
    val_rows: np.ndarray
    test_rows: np.ndarray
    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0


def split_rows(n_cells: int, val_fraction: float, test_fraction: float, seed: int) -> Split:
    """Split ``n_cells`` rows at random into training, validation and test rows (at least one in each).

    ``test_fraction=0`` holds out no test rows (for callers that measure on cells of their own).
    """
    rng = np.random.default_rng(seed)
    n_val = max(1, round(n_cells * val_fraction))
    n_test = max(1, round(n_cells * test_fraction)) if test_fraction > 0 else 0
    if n_val + n_test >= n_cells:
        raise InputError(f"{n_cells} cells are too few to hold out {n_val} validation and {n_test} test cells")
    order = rng.permutation(n_cells)
    return Split(np.sort(order[n_val + n_test :]), np.sort(order[n_test : n_test + n_val]), np.sort(order[:n_test]))


def _aux_loss(
    sae: TopKSAE, x_in: torch.Tensor, residual: torch.Tensor, dead: torch.Tensor, aux_k: int, n_dead: int
) -> torch.Tensor:
    """AuxK: reconstruct the (detached) residual from the top dead latents (``n_dead`` of them), without the bias."""
    pre = torch.relu(x_in @ sae.W_enc[dead].T + sae.b_enc[dead])
    values, indices = pre.topk(min(aux_k, n_dead), dim=-1)
    estimate = F.embedding_bag(indices, sae.W_dec[dead], per_sample_weights=values, mode="sum")
    scale = (residual - residual.mean(0)).pow(2).sum().clamp_min(1e-8)
    return (estimate - residual).pow(2).sum() / scale


def _step(
    sae: TopKSAE, x_norm: torch.Tensor, config: SAEConfig, since_fired: torch.Tensor, dead_after: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Loss of one minibatch and the boolean mask of latents that fired in it."""
    x_in = x_norm - sae.b_dec
    if config.batch_topk:
        pre = sae.pre_activation(x_norm)
        mask = batch_topk_mask(pre.detach(), config.k)
        z = torch.relu(pre) * mask
        recon = z @ sae.W_dec + sae.b_dec
        fired = mask.any(0)
        selected = pre.detach()[mask]
        if selected.numel():  # inference threshold: running mean of the smallest kept activation
            smallest = selected.min()
            sae.threshold.copy_(smallest if sae.threshold == 0 else 0.99 * sae.threshold + 0.01 * smallest)
    else:
        values, indices = sae.select(x_norm, sparse=config.sparse_backward)
        recon = sae.reconstruct(values, indices, sparse=config.sparse_backward)
        # latents with a positive value in some row; the others point past the end (no boolean index, no nonzero())
        selected = torch.where(values.detach() > 0, indices, sae.n_latents).reshape(-1)
        fired = torch.zeros(sae.n_latents + 1, dtype=torch.bool, device=x_norm.device).index_fill_(0, selected, True)
        fired = fired[:-1]
    loss = F.mse_loss(recon, x_norm)
    if config.aux_coef > 0:
        dead = since_fired > dead_after
        n_dead = int(dead.sum())  # the step's one wait for the device
        if n_dead:
            residual = (x_norm - recon).detach()
            weight = min(n_dead / config.aux_k, 1.0)
            loss = loss + config.aux_coef * weight * _aux_loss(sae, x_in, residual, dead, config.aux_k, n_dead)
    return loss, fired


def train_step(
    sae: TopKSAE,
    x_norm: torch.Tensor,
    config: SAEConfig,
    optimizer: torch.optim.Optimizer,
    schedule: torch.optim.lr_scheduler.LRScheduler,
    since_fired: torch.Tensor,
    dead_after: int,
) -> torch.Tensor:
    """One optimiser step on a minibatch of normalised rows; updates ``since_fired``; returns the (detached) loss.

    The whole of a training step, so that benchmarks time what :func:`train` runs.
    """
    loss, fired = _step(sae, x_norm, config, since_fired, dead_after)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    sae.project_decoder_grad()
    optimizer.step()
    schedule.step()
    sae.normalise_decoder()
    since_fired += len(x_norm)
    since_fired.masked_fill_(fired, 0)
    return loss.detach()


@deterministic()
def _initial_sae(
    data: Any, config: SAEConfig, rows: np.ndarray, mean: np.ndarray, scale: float, init: TopKSAE | None
) -> TopKSAE:
    """The SAE that training starts from, on the CPU.

    ``init``'s weights, else a random SAE whose decoder bias is the geometric median of the normalised ``rows``
    (``config.bias_init='median'``) and whose atoms are their k-means centroids (``config.atom_init='kmeans'``).
    """
    d_in = len(mean)
    n_latents = config.expansion * d_in if init is None else init.n_latents
    sae = TopKSAE(d_in, n_latents, config.k, batch_topk=config.batch_topk, inference=config.inference)
    if init is not None:
        sae.load_state_dict(init.state_dict())
        return sae
    if config.bias_init == "median":
        with torch.no_grad():
            sae.b_dec.copy_(torch.as_tensor(geometric_median(data, rows, mean, scale, seed=config.seed)))
    if config.atom_init == "kmeans":
        bias = sae.b_dec.detach().numpy().astype(np.float64)
        atoms = torch.as_tensor(kmeans_atoms(data, rows, mean, scale, bias, n_latents, seed=config.seed))
        with torch.no_grad():
            sae.W_dec.copy_(atoms)
            sae.W_enc.copy_(atoms)
    return sae


def _optimiser(
    sae: TopKSAE, config: SAEConfig, n_train: int
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
    """Adam on the trainable parameters, its learning rate on a cosine from ``config.lr`` down to a tenth of it.

    Torch's fused Adam where it has one (CPU, CUDA): one pass over each parameter instead of about ten; on the CPU
    at batch 256 it cut a token SAE's step by a third (``python -m benchmarks tokens``). It rounds differently from
    the per-operation Adam, by about one float32 ulp a step.
    """
    total_steps = config.epochs * math.ceil(n_train / config.batch_size)
    fused = sae.W_dec.device.type in ("cpu", "cuda")
    optimizer = torch.optim.Adam([p for p in sae.parameters() if p.requires_grad], lr=config.lr, fused=fused)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(step / total_steps, 1.0)))
    )
    return optimizer, schedule


def train(
    data: Any,
    config: SAEConfig | None = None,
    *,
    split: Split | None = None,
    init: TopKSAE | None = None,
    freeze_decoder: bool = False,
) -> TrainingResult:
    """Train a Top-K SAE on a cells x dims embedding read in minibatches.

    Parameters
    ----------
    data
        Any 2-D array-like supporting row slices: numpy array, ``np.memmap``, zarr or h5py array.
    config
        Architecture and training settings; defaults to :class:`SAEConfig`.
    split
        Rows to train, validate and test on; ``None`` draws them from ``config.seed`` (runs of several
        seeds that must share held-out cells pass one split).
    init
        Start from this SAE's weights (its dictionary size replaces ``expansion x dim``) instead of at random.
    freeze_decoder
        Keep the decoder atoms of ``init`` fixed; train the encoder and biases only.

    Returns
    -------
    The best SAE on the validation cells (early stopping), with the split and the history. The same data,
    settings and seed give the same SAE on the same machine (torch's deterministic algorithms are on).

    """
    n_cells, d_in = check_embedding(data)
    config = config or SAEConfig()
    if n_cells < MIN_CELLS:
        raise InputError(f"training an SAE needs at least {MIN_CELLS} cells; the embedding has {n_cells}")
    config.validate(d_in)
    split = split or split_rows(n_cells, config.val_fraction, config.test_fraction, config.seed)
    train_rows, val_rows = split.train, split.val
    config = config.resolved(d_in, len(train_rows))
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    mean, scale = normaliser_stats(data, train_rows)
    offset = float(np.linalg.norm(mean)) / (scale * math.sqrt(d_in))
    logger.info("embedding %d x %d: ||mean|| / ||std|| = %.2f (centred before training)", n_cells, d_in, offset)

    device = resolve_device(config.device)  # 'auto' from Python as from the command line
    sae = _initial_sae(data, config, train_rows, mean, scale, init).to(device)
    sae.mean.copy_(torch.as_tensor(mean))
    sae.scale.fill_(scale)
    sae.W_dec.requires_grad_(not freeze_decoder)
    batch_size = config.batch_size
    optimizer, schedule = _optimiser(sae, config, len(train_rows))
    dead_after = config.dead_after or min(len(train_rows), 1_000_000)
    since_fired = torch.zeros(sae.n_latents, device=device)

    result = TrainingResult(sae, config, train_rows, val_rows, split.test)
    best_loss, best_state, stale = math.inf, copy.deepcopy(sae.state_dict()), 0
    bar = progress(range(config.epochs), desc="training SAE", unit="epoch", mininterval=1.0)
    for epoch in bar:
        sae.train()
        epoch_loss = torch.zeros((), dtype=torch.float64, device=device)  # summed on the device: no wait per step
        for batch in iter_minibatches(data, train_rows, batch_size, rng):
            x_norm = sae.normalise(torch.as_tensor(batch, device=device))
            if config.input_noise > 0:
                x_norm = x_norm + config.input_noise * torch.randn_like(x_norm)
            loss = train_step(sae, x_norm, config, optimizer, schedule, since_fired, dead_after)
            epoch_loss += loss.double() * len(batch)
        if (epoch + 1) % config.val_every and epoch + 1 < config.epochs:
            continue
        val = reconstruction_metrics(sae, data, val_rows, both_inferences=False)
        result.history.append({"epoch": epoch, "train_loss": float(epoch_loss) / len(train_rows), **val})
        dead_share = float((since_fired > dead_after).float().mean())
        bar.set_postfix(val_r2=f"{val['r2']:.4f}", dead=f"{dead_share:.2f}", refresh=False)
        if val["mse"] < best_loss - 1e-6:
            best_loss, best_state, stale, result.best_epoch = val["mse"], copy.deepcopy(sae.state_dict()), 0, epoch
        else:
            stale += config.val_every
            if stale >= config.patience:
                logger.info("early stopping at epoch %d (best %d)", epoch, result.best_epoch)
                break
    sae.load_state_dict(best_state)
    sae.eval()
    return result
