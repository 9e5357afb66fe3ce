"""``tl.layer_readout``: which layer of scGPT or Geneformer to learn concepts from, read cheaply before any SAE."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np
from anndata import AnnData

from scconcepts._errors import InputError
from scconcepts._progress import progress
from scconcepts.evaluation._layer_readout import SmallSAE, probe_with_null, token_variance_explained
from scconcepts.models._base import Encoder
from scconcepts.models._layer_states import LayerStates, layer_number, layer_states
from scconcepts.models._token_encoder import TokenEncoder
from scconcepts.models._token_states import gene_columns
from scconcepts.models._tokens import cell_seeds
from scconcepts.sae._train import split_rows

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)

#: Share of the cells whose tokens the SAE and PCA are measured on (held out of both fits).
TEST_FRACTION = 0.2
VAL_FRACTION = 0.1
COLUMNS = ("layer", "probe", "probe_sd", "probe_null", "sae_r2", "pca_r2", "n_cells", "n_tokens")


def check_layers(encoder: Encoder, layers: list[str] | None) -> list[str]:
    """The layers to read, checked against the encoder's (all of them for ``None``), by depth, without repeats."""
    if not isinstance(encoder, TokenEncoder):
        raise InputError(f"the layer read-out compares the layers of a transformer (scgpt or geneformer); the "
                         f"{encoder.name} model has no layers of gene tokens to choose from")  # fmt: skip
    offered = encoder.layers()
    if layers is None:
        return offered
    if not layers:
        raise InputError(f"no layers given; choose from {', '.join(offered)}")
    unknown = [name for name in layers if name not in offered]
    if unknown:
        raise InputError(f"the {encoder.name} model has no layer {unknown[0]!r}; choose from {', '.join(offered)}")
    return sorted(set(layers), key=layer_number)


def _labels(adata: AnnData, labels_key: str | None) -> np.ndarray | None:
    if labels_key is None:
        return None
    if labels_key not in adata.obs:
        columns = ", ".join(repr(str(c)) for c in adata.obs.columns[:30]) or "none"
        raise InputError(f"labels key {labels_key!r} is not a column of the cells' obs; columns: {columns}")
    labels = adata.obs[labels_key]
    if labels.notna().sum() == 0 or labels[labels.notna()].nunique() < 2:
        raise InputError(f"obs[{labels_key!r}] holds fewer than two labels; the probe needs at least two classes")
    return labels.astype(object).to_numpy()


def _read(
    adata: AnnData, encoder: TokenEncoder, layers: list[str], *, max_tokens_per_cell: int, seed: int,
    batch_size: int, input_layer: str | None, k: int,
) -> dict[str, LayerStates]:  # fmt: skip
    """Every layer's pooled states and token sample of every cell, one forward pass per chunk of cells."""
    x = encoder.expression(adata, layer=input_layer)
    context = encoder.context(adata)
    seeds = cell_seeds(adata.obs_names, seed=seed)
    lookup = gene_columns(encoder)
    parts: dict[str, list[LayerStates]] = {name: [] for name in layers}
    starts = range(0, adata.n_obs, batch_size)
    for start in progress(starts, desc=f"reading {len(layers)} layers of {encoder.name}", disable=len(starts) < 4):
        stop = min(start + batch_size, adata.n_obs)
        ctx = None if context is None else np.asarray(context[start:stop])
        read = layer_states(encoder, x[start:stop].toarray(), ctx, layers, lookup=lookup, seeds=seeds[start:stop],
                            max_tokens_per_cell=max_tokens_per_cell)  # fmt: skip
        for name, states in read.items():
            if start == 0 and k >= states.states.shape[1]:  # refused after the first chunk, not after them all
                raise InputError(f"k={k} must be below the dimension of {name} ({states.states.shape[1]}): the SAE "
                                 "and PCA would reconstruct the tokens exactly")  # fmt: skip
            parts[name].append(LayerStates(states.pooled, states.cells + start, states.genes, states.states))
    fields = ("pooled", "cells", "genes", "states")
    return {
        name: LayerStates(*(np.concatenate([getattr(p, f) for p in chunks]) for f in fields))
        for name, chunks in parts.items()
    }


def layer_readout(
    adata: AnnData,
    encoder: Encoder,
    layers: list[str] | None = None,
    labels_key: str | None = "cell_type",
    *,
    n_cells: int | None = None,
    max_tokens_per_cell: int = 16,
    k: int = 8,
    expansion: int = 2,
    epochs: int = 20,
    folds: int = 3,
    seed: int = 0,
    batch_size: int = 64,
    input_layer: str | None = None,
    device: str = "cpu",
) -> pd.DataFrame:
    """Read out every layer of scGPT or Geneformer cheaply, to choose layers before training SAEs on them.

    All layers are read in one forward pass per chunk of cells: the pass runs to the deepest layer asked for and
    forward hooks keep the others (the states equal those of the encoder set to each layer). Per layer:

    - ``probe``: cross-validated balanced accuracy of a logistic regression of ``obs[labels_key]`` from the
      layer's pooled cell states (the cell embedding ``--layer`` would give), ``probe_sd`` its spread over folds,
      ``probe_null`` the same probe with the labels permuted (chance level, measured: mean of 3 permutations);
    - ``sae_r2``: held-out R^2 of a small Top-K SAE (``k`` active of ``expansion`` x dim latents, ``epochs``
      epochs at most) on a sample of the layer's gene-token states (``max_tokens_per_cell`` per cell), trained on
      the tokens of 70% of the cells and measured on those of 20% other cells; ``pca_r2`` the R^2 of PCA with
      ``k`` components fitted on the same training tokens, on the same held-out tokens (for scale: the share of
      the layer's variance that ``k`` fixed directions already hold; both NaN for a layer whose tokens do not vary).

    Parameters
    ----------
    adata
        Cells with raw counts in ``X`` (or ``layers[input_layer]``).
    encoder
        scGPT or Geneformer encoder (``tl.embed(..., model="scgpt" | "geneformer")``); left at its layer.
    layers
        ``layer_<i>`` names (default: every layer the encoder offers).
    labels_key
        ``obs`` column of the labels the probe reads (``None``: no probe, its columns NaN). Cells without a
        label are left out of the probe.
    n_cells
        Read out at most this many cells, a sample drawn from ``seed`` (``None``: every cell).
    max_tokens_per_cell
        Gene tokens per cell kept for the SAE (a sample from a hash of the cell's name and the token, the same at
        every layer).
    k, expansion, epochs
        The small SAE's active latents (and PCA's components; below the layers' dimension), dictionary size / dim
        and most epochs.
    folds
        Cross-validation folds of the probe.
    seed
        Seed of the cell sample, the token sample, the split, the probe's folds, the permutation and the SAE.
    batch_size
        Cells per chunk; every layer's states of one forward pass are in memory at a time.
    input_layer
        ``adata.layers`` key of the counts (``None``: ``X``).
    device
        Torch device of the SAE (the encoder stays where it is).

    Returns
    -------
    One row per layer: ``layer``, ``probe``, ``probe_sd``, ``probe_null``, ``sae_r2``, ``pca_r2``, ``n_cells``
    (cells read) and ``n_tokens`` (held-out tokens the R^2 are measured on); the settings in ``.attrs``.

    """
    import pandas as pd

    names = check_layers(encoder, layers)
    assert isinstance(encoder, TokenEncoder)
    labels = _labels(adata, labels_key)
    if min(k, expansion, epochs, max_tokens_per_cell, batch_size) < 1 or folds < 2:
        raise InputError("k, expansion, epochs, max_tokens_per_cell and batch_size must be positive, folds at least 2")
    if adata.n_obs == 0:
        raise InputError("the data hold no cells; give at least one cell")
    rng = np.random.default_rng(seed)
    rows = np.arange(adata.n_obs)
    if n_cells is not None and n_cells < adata.n_obs:
        rows = np.sort(rng.choice(adata.n_obs, n_cells, replace=False))
    cells = adata[rows]
    logger.info("reading %s of %s on %d cells (%d tokens per cell)", ", ".join(names), encoder.name, len(rows),
                max_tokens_per_cell)  # fmt: skip
    read = _read(cells, encoder, names, max_tokens_per_cell=max_tokens_per_cell, seed=seed, batch_size=batch_size,
                 input_layer=input_layer, k=k)  # fmt: skip
    split = split_rows(len(rows), VAL_FRACTION, TEST_FRACTION, seed)
    sae = SmallSAE(k=k, expansion=expansion, epochs=epochs, seed=seed, device=device)
    table = []
    for name in names:
        states = read[name]
        row: dict[str, object] = {"layer": name, "probe": np.nan, "probe_sd": np.nan, "probe_null": np.nan}
        if labels is not None:
            labelled = pd.notna(labels[rows])
            row.update(probe_with_null(states.pooled[labelled], labels[rows][labelled], folds=folds, seed=seed))
        fit = token_variance_explained(states.states, states.cells, split, sae)
        row.update(sae_r2=fit["sae_r2"], pca_r2=fit["pca_r2"], n_cells=len(rows), n_tokens=fit["n_tokens"])
        logger.debug("%s: %s", name, row)
        table.append(row)
    result = pd.DataFrame(table, columns=list(COLUMNS))
    result.attrs.update(model=encoder.name, labels_key=labels_key, k=k, expansion=expansion, epochs=epochs,
                        max_tokens_per_cell=max_tokens_per_cell, seed=seed, folds=folds)  # fmt: skip
    return result
