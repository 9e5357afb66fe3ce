"""Forward passes of perturbed cells: the exact batched engine and the linear-first-layer shortcut.

Both answer the same question for a batch of *rows*, each row being one cell with one gene set to a
new value: what are all the concepts' activations after the change? The exact engine builds every
perturbed copy of the input and re-encodes it. The shortcut, for encoders whose first layer is
linear in a per-gene transform of the input (``pre = transform(x) @ W.T + terms free of x``), adds the
rank-1 term ``W[:, g] * (transform(new) - transform(old))`` to the cell's cached pre-activation and
runs only the rest of the network, which gives the same activations up to rounding.

For screening, both also give the Jacobian of the *embedding* with respect to each gene's input step
(``embedding_jacobian``): the encoder is linearised, while the components function (the SAE, whose
Top-K or pursuit choice of active concepts is discontinuous) is then run exactly on the estimated
embeddings.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from scconcepts.models._base import Encoder, LinearFirstLayer

#: ``embeddings (cells x dim) -> activations (cells x n_components)``, e.g. ``sae.encode``.
Components = Callable[[torch.Tensor], torch.Tensor]


def _take(context: torch.Tensor | None, rows: torch.Tensor) -> torch.Tensor | None:
    return None if context is None else context[rows]


def _on(device: torch.device, *tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """The row indices and values on the device of the prepared cells (the engine builds them on the CPU)."""
    return tuple(t.to(device) for t in tensors)


def _jacobian(inputs: torch.Tensor, outputs: torch.Tensor) -> torch.Tensor:
    """``d outputs[r, k] / d inputs[r, :]`` for independent rows: rows x outputs x inputs, one backward per output."""
    columns = [
        torch.autograd.grad(outputs[:, k].sum(), inputs, retain_graph=k + 1 < outputs.shape[1])[0]
        for k in range(outputs.shape[1])
    ]
    return torch.stack(columns, dim=1)


class ExactRunner:
    """Re-encode perturbed copies of cells through the full encoder and the components function."""

    name = "exact"

    def __init__(self, encoder: Encoder, components: Components) -> None:
        self.encoder = encoder
        self.components = components

    def prepare(self, x: torch.Tensor, context: torch.Tensor | None) -> torch.Tensor:
        """Return the unperturbed activations of the cells ``x`` (cells x components)."""
        self.x, self.context = x, context
        self.embedding = self.encoder.encode(x, context)
        return self.components(self.embedding)

    def perturbed(self, cell: torch.Tensor, gene: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
        """Activations of the rows ``(cell[r], gene[r] := value[r])`` of the prepared cells."""
        cell, gene, value = _on(self.x.device, cell, gene, value)
        batch = self.x[cell].clone()
        batch[torch.arange(cell.numel()), gene] = value
        return self.components(self.encoder.encode(batch, _take(self.context, cell)))

    def embedding_jacobian(self, cell: torch.Tensor) -> torch.Tensor:
        """``d embedding / d input value`` of each cell (cells x embedding dim x genes): one backward per dim."""
        batch = self.x[cell].clone().requires_grad_(True)
        return _jacobian(batch, self.encoder.encode(batch, _take(self.context, cell)))

    def gene_steps(self, old: torch.Tensor, new: torch.Tensor) -> torch.Tensor:
        """The input change that :meth:`embedding_jacobian` multiplies (raw values here)."""
        return new - old


class ShortcutRunner:
    """Rank-1 updates of the first layer's pre-activation; exact for a linear first layer."""

    name = "shortcut"

    def __init__(self, layer: LinearFirstLayer, components: Components) -> None:
        self.layer = layer
        self.weight_t = layer.weight.detach().T.contiguous()  # genes x hidden
        self.components = components

    def prepare(self, x: torch.Tensor, context: torch.Tensor | None) -> torch.Tensor:
        """Cache the cells' pre-activations and return their unperturbed activations."""
        self.x, self.context = x, context
        self.pre = self.layer.pre_activation(x, context)
        self.embedding = self.layer.rest(self.pre, context)
        return self.components(self.embedding)

    def perturbed(self, cell: torch.Tensor, gene: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
        """Activations of the rows ``(cell[r], gene[r] := value[r])`` via a rank-1 pre-activation update."""
        cell, gene, value = _on(self.x.device, cell, gene, value)
        step = self.layer.transform(value) - self.layer.transform(self.x[cell, gene])
        pre = self.pre[cell] + step[:, None] * self.weight_t[gene]
        return self.components(self.layer.rest(pre, _take(self.context, cell)))

    def embedding_jacobian(self, cell: torch.Tensor) -> torch.Tensor:
        """``d embedding / d transformed value`` of each cell (cells x dim x genes), through the pre-activation."""
        pre = self.pre[cell].detach().clone().requires_grad_(True)
        return _jacobian(pre, self.layer.rest(pre, _take(self.context, cell))) @ self.weight_t.T

    def gene_steps(self, old: torch.Tensor, new: torch.Tensor) -> torch.Tensor:
        """The change of the transformed input, which the first layer sees linearly."""
        return self.layer.transform(new) - self.layer.transform(old)


def make_runner(encoder: Encoder, components: Components, *, shortcut: bool) -> ExactRunner | ShortcutRunner:
    """Return the shortcut runner when asked and available, else the exact one."""
    layer = encoder.linear_first_layer() if shortcut else None
    return ExactRunner(encoder, components) if layer is None else ShortcutRunner(layer, components)
