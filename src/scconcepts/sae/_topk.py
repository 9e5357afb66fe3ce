"""Top-K encoding and decoding with a sparse backward, and the dense reference it is measured against.

The sparse path never materialises a cells x latents gradient: the encoder's backward touches only
the ``k`` selected latents of each cell, and decoding is an ``embedding_bag`` over the selected decoder rows,
whose backward is also sparse. Both weight gradients sum each latent's (cell, slot) pairs with one
``embedding_bag`` over the pairs grouped by latent (:func:`_grouped_by_latent`).
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F


def _grouped_by_latent(
    indices: torch.Tensor, weights: torch.Tensor, rows: torch.Tensor, n_latents: int
) -> torch.Tensor:
    """``n_latents x d``: row ``j`` sums ``weights[b, s] * rows[b]`` over the pairs with ``indices[b, s] == j``.

    One ``embedding_bag`` over ``rows``, with the (row, slot) pairs grouped by latent by a *stable* sort: on the CPU
    torch's default (unstable) sort of many repeated integers is about 15 times slower, and so is the backward of
    ``embedding_bag`` over the weight, which sorts that way (hence :class:`_DecoderGradient`).
    """
    flat = indices.reshape(-1)
    if flat.device.type == "cpu":  # numpy's stable (radix) sort: an order of magnitude faster than torch's here
        order = torch.from_numpy(np.argsort(flat.numpy(), kind="stable"))
    else:
        order = torch.sort(flat, stable=True).indices
    counts = torch.bincount(flat, minlength=n_latents)
    offsets = counts.cumsum(0) - counts
    return F.embedding_bag(
        torch.div(order, indices.shape[1], rounding_mode="floor"),
        rows,
        offsets,
        per_sample_weights=weights.reshape(-1)[order].to(rows.dtype),
        mode="sum",
    )


class _DecoderGradient(torch.autograd.Function):
    """Identity on the decoded rows; its backward adds the decoder's gradient, sparse in the latents.

    ``decode_sparse`` decodes with ``embedding_bag`` over the *detached* decoder (so torch's backward gives the
    activations' gradient only) and passes the result through here, which gives the decoder's.
    """

    @staticmethod
    def forward(ctx, decoded, values, indices, decoder):
        ctx.save_for_backward(values, indices)
        ctx.n_latents = decoder.shape[0]
        return decoded.view_as(decoded)

    @staticmethod
    def backward(ctx, grad_out):
        values, indices = ctx.saved_tensors
        grad_decoder = None
        if ctx.needs_input_grad[3]:
            grad_decoder = _grouped_by_latent(indices, values, grad_out, ctx.n_latents)
        return grad_out, None, None, grad_decoder


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
            # row j of the gradient sums grad[b, j] * x[b] over the cells b that selected latent j
            grad_weight = _grouped_by_latent(indices, grad, x, weight.shape[0]).to(weight.dtype)
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
    """Sum of the selected decoder rows weighted by their activations (``embedding_bag``; sparse backward)."""
    decoded = F.embedding_bag(indices, decoder.detach(), per_sample_weights=values, mode="sum")
    if not decoder.requires_grad:
        return decoded
    return _DecoderGradient.apply(decoded, values.detach(), indices, decoder)


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
