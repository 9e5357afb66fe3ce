"""One seed's SAE run as a picklable value: what consensus pools, and what a process pool or Dask maps over."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from scconcepts.sae._config import SAEConfig
from scconcepts.sae._model import TopKSAE
from scconcepts.sae._train import Split, train

#: Cells sampled from the training rows to measure how often each latent fires.
FIRE_SAMPLE = 20_000


@dataclass
class SeedRun:
    """A trained SAE of one seed, held as numpy arrays so that it pickles cheaply.

    Attributes
    ----------
    seed
        The seed of initialisation and shuffling (the split is shared by all runs of a consensus).
    state
        The SAE's state dict as numpy arrays (``W_dec`` holds the unit decoder atoms, one per row).
    k, inference, batch_topk
        The SAE's settings, to rebuild it.
    fire_rate
        Share of (a sample of) the training cells where each latent fires.
    best_epoch
        Epoch that early stopping kept.

    """

    seed: int
    state: dict[str, np.ndarray]
    k: int
    inference: str
    batch_topk: bool
    fire_rate: np.ndarray
    best_epoch: int

    @property
    def decoder(self) -> np.ndarray:
        """Latents x dims unit decoder atoms (in the normalised embedding space)."""
        return self.state["W_dec"]

    def to_sae(self) -> TopKSAE:
        """Rebuild the :class:`TopKSAE`."""
        n_latents, d_in = self.decoder.shape
        sae = TopKSAE(d_in, n_latents, self.k, batch_topk=self.batch_topk, inference=self.inference)
        sae.load_state_dict({name: torch.as_tensor(value) for name, value in self.state.items()})
        return sae.eval()


@torch.no_grad()
def fire_rates(sae: TopKSAE, data: Any, rows: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """Share of ``rows`` (at most 20,000 sampled) where each latent of ``sae`` fires."""
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(rows, min(len(rows), FIRE_SAMPLE), replace=False))
    x = torch.as_tensor(np.asarray(data[sample], dtype=np.float32), device=next(sae.parameters()).device)
    fired = torch.zeros(sae.n_latents, device=x.device)
    for start in range(0, len(x), 4096):
        fired += (sae.encode(x[start : start + 4096]) > 0).sum(0)
    return (fired / max(len(x), 1)).cpu().numpy()


def train_seed(data: Any, config: SAEConfig, seed: int, split: Split | None = None) -> SeedRun:
    """Train the SAE of one seed; inputs and result pickle, so ``client.map(train_seed, ...)`` can run it.

    Parameters
    ----------
    data
        Cells x dims embedding (any 2-D array-like with row slices).
    config
        SAE settings; its ``seed`` is replaced by ``seed``.
    seed
        Seed of initialisation and shuffling.
    split
        Rows to train / validate / test on, shared by every run of a consensus (``None``: from ``seed``).

    """
    result = train(data, SAEConfig.from_dict({**config.to_dict(), "seed": seed}), split=split)
    sae = result.sae
    state = {name: tensor.detach().cpu().numpy().copy() for name, tensor in sae.state_dict().items()}
    return SeedRun(
        seed=seed,
        state=state,
        k=sae.k,
        inference=sae.inference,
        batch_topk=sae.batch_topk,
        fire_rate=fire_rates(sae, data, result.train_rows, seed=seed),
        best_epoch=result.best_epoch,
    )
