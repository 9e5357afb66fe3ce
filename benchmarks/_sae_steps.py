"""One training step of our Top-K SAE and of eai-sparsify's SparseCoder, driven as each library's trainer drives it.

Ours: :func:`scconcepts.sae._train.train_step` (what ``train`` runs for every minibatch: loss with AuxK, backward,
decoder-gradient projection, Adam, cosine schedule, unit-norm decoder, dead-latent counter). Sparsify's: what its
``Trainer.fit`` does per batch with ``loss_fn="fvu"`` and ``optimizer="adam"`` (bitsandbytes absent: torch's
Adam, as its fallback), without the language model: decoder to unit norm, ``forward`` with the dead mask and the
batch's total variance, ``fvu + auxk_alpha * auxk_loss (+ multi_topk_fvu / 8)`` backward, gradient made parallel-free,
optimiser and linear-warmup schedule steps, dead-latent counter. Both read their batches from the same store rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from scconcepts.sae import SAEConfig
from scconcepts.sae._model import TopKSAE
from scconcepts.sae._train import _optimiser, train_step


class OursStep:
    """Our SAE, optimiser and dead-latent counter; :meth:`__call__` runs one step on raw rows."""

    def __init__(self, d_in: int, config: SAEConfig, mean: np.ndarray, scale: float, device: str, n_train: int):
        self.config = config.resolved(d_in, n_train)
        torch.manual_seed(self.config.seed)
        self.sae = TopKSAE(d_in, self.config.expansion * d_in, self.config.k).to(device)
        self.sae.mean.copy_(torch.as_tensor(mean))
        self.sae.scale.fill_(scale)
        self.optimizer, self.schedule = _optimiser(self.sae, self.config, n_train)
        self.since_fired = torch.zeros(self.sae.n_latents, device=device)
        self.dead_after = self.config.dead_after or n_train
        self.device = device

    def __call__(self, batch: np.ndarray) -> float:
        x_norm = self.sae.normalise(torch.as_tensor(batch, device=self.device))
        loss = train_step(self.sae, x_norm, self.config, self.optimizer, self.schedule, self.since_fired,
                          self.dead_after)  # fmt: skip
        return float(loss)


class SparsifyStep:
    """Sparsify's SparseCoder with its trainer's Adam, schedule and dead-feature bookkeeping."""

    def __init__(self, d_in: int, n_latents: int, k: int, *, auxk_alpha: float, dead_after: int, device: str,
                 n_steps: int, seed: int = 0) -> None:  # fmt: skip
        from sparsify import SparseCoder, SparseCoderConfig
        from transformers import get_linear_schedule_with_warmup

        torch.manual_seed(seed)
        self.sae = SparseCoder(d_in, SparseCoderConfig(num_latents=n_latents, k=k), device=device,
                               dtype=torch.float32)  # fmt: skip
        lr = 2e-4 / (self.sae.num_latents / (2**14)) ** 0.5  # the trainer's default for Adam
        self.optimizer = torch.optim.Adam(self.sae.parameters(), lr=lr)
        self.schedule = get_linear_schedule_with_warmup(self.optimizer, min(1000, n_steps // 10), n_steps)
        self.auxk_alpha, self.dead_after = auxk_alpha, dead_after
        self.since_fired = torch.zeros(self.sae.num_latents, dtype=torch.long, device=device)
        self.did_fire = torch.zeros(self.sae.num_latents, dtype=torch.bool, device=device)
        self.device = device
        self.step = 0

    def __call__(self, batch: np.ndarray) -> float:
        x = torch.as_tensor(batch, device=self.device)
        if self.step == 0:  # the trainer centres the decoder bias on the first batch
            self.sae.b_dec.data = x.mean(0).to(self.sae.dtype)
        self.sae.set_decoder_norm_to_unit_norm()
        dead_mask = self.since_fired > self.dead_after if self.auxk_alpha > 0 else None
        total_variance = (x - x.mean(0)).pow(2).sum()
        out = self.sae(x=x, y=x, dead_mask=dead_mask, total_variance=total_variance)
        self.did_fire[out.latent_indices.flatten()] = True
        loss = out.fvu + self.auxk_alpha * out.auxk_loss + out.multi_topk_fvu / 8
        loss.backward()
        self.sae.remove_gradient_parallel_to_decoder_directions()
        self.optimizer.step()
        self.optimizer.zero_grad()
        self.schedule.step()
        with torch.no_grad():
            self.since_fired += len(x)
            self.since_fired[self.did_fire] = 0
            self.did_fire.zero_()
        self.step += 1
        return float(out.fvu.detach())


def make_steps(states: Any, *, k: int, expansion: int, batch_size: int, device: str, n_steps: int,
               aux_coef: float = 1 / 32, dead_after: int | None = None) -> dict[str, Any]:  # fmt: skip
    """Both steppers for the same store ``states`` (tokens x dim), width, ``k``, batch, AuxK weight and dead horizon."""
    from scconcepts.sae._data import normaliser_stats

    n_tokens, d_in = states.shape
    mean, scale = normaliser_stats(states, np.arange(n_tokens))
    dead_after = dead_after or 10 * batch_size
    config = SAEConfig(k=k, expansion=expansion, batch_size=batch_size, aux_coef=aux_coef, dead_after=dead_after,
                       epochs=max(1, n_steps * batch_size // n_tokens), device=device)  # fmt: skip
    theirs = SparsifyStep(d_in, expansion * d_in, k, auxk_alpha=aux_coef, dead_after=dead_after, device=device,
                          n_steps=n_steps)  # fmt: skip
    return {"ours": OursStep(d_in, config, mean, scale, device, n_tokens), "sparsify": theirs}
