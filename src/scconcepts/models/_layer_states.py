"""Several layers of scGPT or Geneformer read in one forward pass: each layer's pooled cell states and token sample.

The encoder runs to the deepest layer asked for (:meth:`TokenEncoder.token_states`, the pass its cell embedding
pools); a forward hook on each other layer's output module (:meth:`TokenEncoder.layer_output`) keeps that layer's
states of the same pass. Each layer is then pooled as the encoder pools its own layer (:meth:`TokenEncoder.pool`), and
its gene tokens are sampled as :func:`~scconcepts.models._token_states.cell_token_states` samples them (the same
tokens at every layer). Only one pass's states of every layer are held at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch

from scconcepts.models._token_encoder import StateChunk, TokenEncoder, layer_name
from scconcepts.models._token_states import chunk_gene_tokens, sample_tokens


@dataclass
class LayerStates:
    """One layer's states of a batch of cells."""

    #: ``cells x dim`` pooled states (the layer's cell embedding), rows as the batch's.
    pooled: np.ndarray
    #: Each sampled gene token's cell (row of the batch), sorted by cell then gene.
    cells: np.ndarray
    #: Each sampled token's gene (index into the encoder's genes).
    genes: np.ndarray
    #: ``tokens x dim`` float32 states of the sampled tokens.
    states: np.ndarray


def layer_number(name: str) -> int:
    """The ``i`` of ``layer_<i>``."""
    return int(name.rsplit("_", 1)[1])


@contextmanager
def _taps(encoder: TokenEncoder, numbers: list[int]) -> Iterator[dict[int, torch.Tensor]]:
    """Forward hooks that keep each layer's latest output in the yielded dict (removed on exit)."""
    captured: dict[int, torch.Tensor] = {}

    def keeper(number: int) -> Callable[[torch.nn.Module, object, object], None]:
        def hook(module: torch.nn.Module, inputs: object, output: object) -> None:
            captured[number] = output[0] if isinstance(output, tuple) else output  # type: ignore[assignment]

        return hook

    handles = [encoder.layer_output(number).register_forward_hook(keeper(number)) for number in numbers]
    try:
        yield captured
    finally:
        for handle in handles:
            handle.remove()


@torch.no_grad()
def layer_states(
    encoder: TokenEncoder,
    x: np.ndarray,
    context: np.ndarray | None,
    layers: list[str],
    *,
    lookup: np.ndarray,
    seeds: np.ndarray,
    max_tokens_per_cell: int,
) -> dict[str, LayerStates]:
    """Pooled states and a token sample of the cells ``x`` at every layer of ``layers``, in one pass per chunk.

    Parameters
    ----------
    encoder
        scGPT or Geneformer encoder; left at its layer.
    x, context
        Raw counts (cells x the encoder's genes) and the cells' context (:meth:`~TokenEncoder.context`).
    layers
        ``layer_<i>`` names, each one of ``encoder.layers()``.
    lookup
        :func:`~scconcepts.models._token_states.gene_columns` of the encoder.
    seeds
        Per-cell seeds of the token sample.
    max_tokens_per_cell
        Gene tokens kept per cell (the same ones at every layer).

    """
    numbers = {name: layer_number(name) for name in layers}
    previous = encoder.layer
    encoder.select_layer(layer_name(max(numbers.values())))
    parts: dict[str, list[tuple[np.ndarray, ...]]] = {name: [] for name in layers}
    order: list[np.ndarray] = []
    try:
        tokens = encoder.cell_tokens(x, context)
        with _taps(encoder, sorted(set(numbers.values()))) as captured:
            for chunk in encoder.token_states(tokens):
                order.append(chunk.rows)
                keep: np.ndarray | None = None
                for name, number in numbers.items():
                    view = StateChunk(chunk.rows, captured[number], chunk.ids, chunk.genes, chunk.cls_position)
                    cells, ids, states = chunk_gene_tokens(view)
                    if keep is None:
                        keep = sample_tokens(cells, ids, seeds, max_tokens_per_cell)
                    pooled = encoder.pool(view).float().cpu().numpy()
                    parts[name].append((pooled, cells[keep], lookup[ids[keep]], states[keep]))
                captured.clear()
    finally:
        encoder.select_layer(previous)
    rows = np.concatenate(order)
    result = {}
    for name in layers:
        pooled = np.empty((x.shape[0], parts[name][0][0].shape[1]), dtype=np.float32)
        pooled[rows] = np.concatenate([p[0] for p in parts[name]])
        cells, genes, states = (np.concatenate([p[i] for p in parts[name]]) for i in (1, 2, 3))
        sort = np.lexsort((genes, cells))
        result[name] = LayerStates(pooled, cells[sort], genes[sort], states[sort])
    return result
