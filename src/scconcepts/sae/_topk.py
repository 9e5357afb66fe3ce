"""Top-K encoding and decoding with a sparse backward, and the dense reference it is measured against.

The sparse path never materialises a cells x latents gradient: the encoder's backward touches only
the ``k`` selected latents of each cell (``index_add``), and decoding is an ``embedding_bag`` over
the selected decoder rows, whose backward is also sparse.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F


class _SparseTopKEncode(torch.autograd.Function):
    """``topk(relu(x @ W.T + b))`` returning (values, indices); the backward is sparse in the latents."""

    @staticmethod
    def forward(ctx, x, weight, bias, k):
        pre = torch.addmm(bias, x, weight.T)
        values, indices = pre.topk(k, dim=-1, sorted=False)
        values = values.clamp_min(0)
        ctx.save_for_backward(x, weight, indices, values)
        ctx.mark_non_differentiable(indices)
        return values, indices

    @staticmethod
    def backward(ctx, grad_values, _grad_indices):
        x, weight, indices, values = ctx.saved_tensors
        grad = grad_values * (values > 0)
        grad_x = grad_weight = grad_bias = None
        flat = indices.reshape(-1)
        if ctx.needs_input_grad[0]:
            grad_x = F.embedding_bag(indices, weight, per_sample_weights=grad, mode="sum")
        if ctx.needs_input_grad[1]:
            # row j of the gradient sums grad[b, j] * x[b] over the cells b that selected latent j:
            # one embedding_bag over x, with the (cell, latent) pairs grouped by latent
            order = flat.argsort()
            cells = torch.arange(x.shape[0], device=x.device).repeat_interleave(indices.shape[1])[order]
            counts = torch.bincount(flat, minlength=weight.shape[0])
            offsets = counts.cumsum(0) - counts
            grad_weight = F.embedding_bag(
                cells, x, offsets, per_sample_weights=grad.reshape(-1)[order].to(x.dtype), mode="sum"
            ).to(weight.dtype)
        if ctx.needs_input_grad[2]:
            grad_bias = torch.zeros_like(weight[:, 0]).index_add_(0, flat, grad.reshape(-1))
        return grad_x, grad_weight, grad_bias, None


def topk_encode_sparse(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, k: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return the values and latent indices of each row's ``k`` largest ReLU pre-activations."""
    return _SparseTopKEncode.apply(x, weight, bias, k)


def topk_encode_dense(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, k: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Dense reference of :func:`topk_encode_sparse`: plain autograd through the full pre-activation."""
    values, indices = torch.relu(x @ weight.T + bias).topk(k, dim=-1, sorted=False)
    return values, indices


def decode_sparse(values: torch.Tensor, indices: torch.Tensor, decoder: torch.Tensor) -> torch.Tensor:
    """Sum of the selected decoder rows weighted by their activations (``embedding_bag``)."""
    return F.embedding_bag(indices, decoder, per_sample_weights=values, mode="sum")


def decode_dense(values: torch.Tensor, indices: torch.Tensor, decoder: torch.Tensor) -> torch.Tensor:
    """Dense reference of :func:`decode_sparse`: scatter into cells x latents, then a matrix product."""
    dense = torch.zeros(values.shape[0], decoder.shape[0], dtype=values.dtype, device=values.device)
    return dense.scatter(1, indices, values) @ decoder


def batch_topk_mask(pre: torch.Tensor, k: int) -> torch.Tensor:
    """Boolean mask keeping the ``k * n_cells`` largest positive activations of the whole batch (BatchTopK)."""
    flat = torch.relu(pre).reshape(-1)
    n_keep = min(k * pre.shape[0], flat.numel())
    threshold = flat.topk(n_keep, sorted=False).values.min()
    return (pre >= threshold) & (pre > 0)
