"""The training step's sparse paths equal their plain references: decoder gradient, grouped sums, fired latents."""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from scconcepts.sae import SAEConfig, train
from scconcepts.sae._model import TopKSAE
from scconcepts.sae._topk import _grouped_by_latent, decode_sparse
from scconcepts.sae._train import _step


def _repeated_indices(n_rows: int, n_latents: int, k: int, seed: int) -> torch.Tensor:
    """Each row's ``k`` distinct latents drawn from a few popular ones, so that latents repeat a lot across rows."""
    rng = np.random.default_rng(seed)
    popular = rng.pareto(1.0, n_latents) + 1
    rows = [rng.choice(n_latents, k, replace=False, p=popular / popular.sum()) for _ in range(n_rows)]
    return torch.as_tensor(np.stack(rows))


def test_decoder_gradients_equal_plain_embedding_bag():
    torch.manual_seed(0)
    indices = _repeated_indices(300, 40, 6, seed=1)
    target = torch.randn(300, 8, dtype=torch.float64)
    grads = {}
    for name in ("sparse", "plain"):
        values = torch.rand(300, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(2)).requires_grad_()
        decoder = torch.randn(40, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(3)).requires_grad_()
        if name == "sparse":
            out = decode_sparse(values, indices, decoder)
        else:
            out = F.embedding_bag(indices, decoder, per_sample_weights=values, mode="sum")
        (out - target).pow(2).sum().backward()
        grads[name] = (out.detach(), values.grad, decoder.grad)
    for sparse, plain in zip(grads["sparse"], grads["plain"], strict=True):
        torch.testing.assert_close(sparse, plain, rtol=1e-12, atol=1e-12)


def test_grouped_sums_equal_index_add_and_use_the_stable_order():
    indices = _repeated_indices(500, 30, 5, seed=4)
    weights = torch.rand(500, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    rows = torch.randn(500, 7, dtype=torch.float64, generator=torch.Generator().manual_seed(6))
    expected = torch.zeros(30, 7, dtype=torch.float64).index_add_(
        0, indices.reshape(-1), (weights[..., None] * rows[:, None, :]).reshape(-1, 7)
    )
    torch.testing.assert_close(_grouped_by_latent(indices, weights, rows, 30), expected, rtol=1e-12, atol=1e-12)
    # the CPU's numpy order is the one torch's stable sort (used on GPUs) gives
    flat = indices.reshape(-1)
    assert torch.equal(torch.from_numpy(np.argsort(flat.numpy(), kind="stable")), torch.sort(flat, stable=True).indices)


def test_fired_latents_are_those_with_a_positive_value():
    torch.manual_seed(0)
    sae = TopKSAE(6, 48, 4)
    with torch.no_grad():
        sae.b_enc.copy_(torch.linspace(-3, 0.5, 48))  # many selected latents with value 0
    x = torch.randn(64, 6)
    config = SAEConfig(k=4, expansion=8, aux_coef=0.0).resolved(6, 64)
    _, fired = _step(sae, x, config, torch.zeros(48), dead_after=10)
    values, indices = sae.select(x)
    expected = torch.zeros(48, dtype=torch.bool)
    expected[indices[values > 0]] = True
    assert (values == 0).any() and 0 < int(expected.sum()) < 48
    assert torch.equal(fired, expected)


def test_training_with_the_sparse_step_is_reproducible():
    rng = np.random.default_rng(0)
    data = (rng.normal(size=(400, 16)) @ rng.normal(size=(16, 16))).astype(np.float32)
    config = dict(k=4, expansion=8, epochs=3, batch_size=64, sparse_backward=True, atom_init="random")
    first, second = (train(data, SAEConfig(**config)) for _ in range(2))
    for name, value in first.sae.state_dict().items():
        assert torch.equal(value, second.sae.state_dict()[name]), name
    np.testing.assert_equal(first.history, second.history)  # NaN-aware
