"""``tl.train_token_sae``: concepts of gene-token states (a :class:`TokenStore`), read per cell and per gene."""

from __future__ import annotations

import dataclasses
import logging
import math
from typing import Any

import numpy as np
import scipy.sparse as sp
from anndata import AnnData

from scconcepts._device import resolve_device
from scconcepts._errors import InputError
from scconcepts._keys import DEFAULT_KEY, activations_key, params_key, token_genes_key, token_mean_key
from scconcepts._regime import (
    DEFAULT_ATOM_INIT,
    DEFAULT_ATOM_K,
    TOKEN_EXPANSION,
    TOKEN_K,
    TOKEN_MAX_EPOCHS,
    TOKEN_MIN_STEPS,
    TOKEN_REGIME,
    TOKEN_SEEDS,
)
from scconcepts._threads import sae_work, threads_by_size
from scconcepts.models._token_store import TokenStore
from scconcepts.sae import SAEConfig, TrainingResult, informativeness, reconstruction_metrics
from scconcepts.sae._consensus import MIN_SHARE
from scconcepts.sae._learn import learn_concepts, run_params
from scconcepts.sae._programs import MAX_FIT_CELLS
from scconcepts.sae._token_concepts import TokenConcepts, token_concepts
from scconcepts.tl._concept_table import concept_table
from scconcepts.tl._train_sae import _plain, _uns_safe

logger = logging.getLogger(__name__)


def check_store(adata: AnnData, store: TokenStore) -> np.ndarray:
    """Rows of ``adata.var_names`` of the store's genes; refuses a store of other cells or genes."""
    if store.n_cells != adata.n_obs:
        raise InputError(f"the token store holds states of {store.n_cells} cells but the data have {adata.n_obs}; "
                         "read the store from these cells (scconcepts.tl.token_activations)")  # fmt: skip
    names = store.info.get("cell_names")
    if names is not None and list(map(str, adata.obs_names)) != list(names):
        raise InputError("the token store was read from other cells (or another order) than the data's")
    rows = adata.var_names.get_indexer(store.gene_names)
    if (rows < 0).any():
        missing = store.gene_names[int(np.flatnonzero(rows < 0)[0])]
        raise InputError(f"{int((rows < 0).sum())} of the token store's genes are not in the data (e.g. {missing})")
    return rows


def write_token_concepts(adata: AnnData, concepts: TokenConcepts, gene_rows: np.ndarray, key: str) -> None:
    """Per-cell max (the concepts' activations) and mean into ``obsm``, per-gene means into ``varm``."""
    adata.obsm[activations_key(key)] = sp.csr_matrix(concepts.cell_max)
    adata.obsm[token_mean_key(key)] = sp.csr_matrix(concepts.cell_mean)
    per_gene = np.full((adata.n_vars, concepts.gene_mean.shape[1]), np.nan, dtype=np.float32)
    per_gene[gene_rows] = concepts.gene_mean
    adata.varm[token_genes_key(key)] = per_gene


def token_epochs(n_tokens: int, config: SAEConfig) -> int:
    """Epochs of a token dictionary: as few as make ``TOKEN_MIN_STEPS`` steps, at most ``TOKEN_MAX_EPOCHS``.

    The cell rule (at least 10 epochs) would be tens of thousands of steps on a million tokens.
    """
    n_train = max(1, round(n_tokens * (1 - config.val_fraction - config.test_fraction)))
    batch = min(int(config.batch_size or min(256, max(32, n_train // 10))), n_train)
    return min(TOKEN_MAX_EPOCHS, max(1, math.ceil(TOKEN_MIN_STEPS / math.ceil(n_train / batch))))


@threads_by_size(sae_work)
def train_token_sae(
    adata: AnnData,
    store: TokenStore,
    *,
    regime: str = TOKEN_REGIME,
    k: int | None = TOKEN_K,
    expansion: int = TOKEN_EXPANSION,
    seed: int = 0,
    key_added: str = DEFAULT_KEY,
    labels_key: str | None = "cell_type",
    n_seeds: int = TOKEN_SEEDS,
    unreproducible: str = "drop",
    min_share: float = MIN_SHARE,
    atom_k: int | None = DEFAULT_ATOM_K,
    client: Any = None,
    **config: Any,
) -> TrainingResult:
    """Learn concepts from the gene-token states of a store, and read them per cell and per gene.

    The dictionary is learnt as :func:`~scconcepts.tl.train_sae` learns it, with tokens in place of cells: the
    ``sae`` regime streams the store's rows from disk in chunks; the ``programs`` regime fits its ICA on a seeded
    sample of at most 50,000 training tokens (:data:`~scconcepts.sae._programs.MAX_FIT_CELLS`) held in memory.
    The train/validation/test split is over tokens (a cell's tokens may fall in several parts).

    Writes ``obsm["X_<key_added>"]`` (cells x concepts: the max over each cell's tokens; the explorer, report and
    evaluation read it as any concepts), ``obsm["X_<key_added>_token_mean"]`` (the mean over each cell's tokens),
    ``varm["<key_added>_token_genes"]`` (genes x concepts: mean activation over the cells where the gene's token
    is present; ``NaN`` for genes without a token) and ``uns[key_added]`` as ``train_sae`` does (metrics on the
    held-out tokens; ``accuracy_concepts`` from the per-cell max), with ``params["tokens"]`` true and the layer.

    Parameters
    ----------
    adata
        The cells the store was read from (same cells, same order).
    store
        Gene-token states (:func:`~scconcepts.tl.token_activations`).
    regime, k, expansion, n_seeds
        As for :func:`~scconcepts.tl.train_sae`, with defaults measured on token states at transformer width
        (:data:`scconcepts._regime.TOKEN_REGIME` and the other ``TOKEN_*`` constants: one Top-K SAE, k = 8,
        8 x the width; README, "Token defaults").
    seed, key_added, labels_key, unreproducible, min_share, atom_k, client
        As for :func:`~scconcepts.tl.train_sae`.
    config
        :class:`~scconcepts.sae.SAEConfig` fields; ``epochs`` defaults to as few as make 3,000 steps of the
        automatic batch (256 tokens), at most 100 (:func:`token_epochs`).

    """
    gene_rows = check_store(adata, store)
    if "device" in config:
        config["device"] = str(resolve_device(config["device"]))
    unknown = set(config) - set(SAEConfig.__dataclass_fields__)
    if unknown:
        raise InputError(f"unknown SAE settings {sorted(unknown)}; see scconcepts.sae.SAEConfig")
    config = {"atom_init": DEFAULT_ATOM_INIT, **config}
    sae_config = SAEConfig(k=k if k is not None else TOKEN_K, expansion=expansion, seed=seed, **config)
    if sae_config.epochs is None:
        sae_config = dataclasses.replace(sae_config, epochs=token_epochs(store.n_tokens, sae_config))
    if regime == "programs" and store.n_tokens > MAX_FIT_CELLS:
        logger.info("programs of %d tokens: the ICA is fitted on a seeded sample of %d training tokens",
                    store.n_tokens, MAX_FIT_CELLS)  # fmt: skip
    result, flags, summary = learn_concepts(store.states, sae_config, regime=regime, n_seeds=n_seeds,
                                            min_share=min_share, unreproducible=unreproducible, atom_k=atom_k, n_jobs=1,
                                            client=client)  # fmt: skip
    concepts = token_concepts(result.sae, store.states, store.cells, store.genes, n_cells=store.n_cells,
                              n_genes=len(store.gene_names))  # fmt: skip
    write_token_concepts(adata, concepts, gene_rows, key_added)
    activations = adata.obsm[activations_key(key_added)]

    metrics = reconstruction_metrics(result.sae, store.states, result.test_rows)
    metrics["n_tokens_heldout"] = metrics.pop("n_cells")
    metrics["dead_fraction_all"] = float((np.diff(activations.tocsc().indptr) == 0).mean())
    labels = adata.obs[labels_key] if labels_key is not None and labels_key in adata.obs else None
    if labels is not None:
        metrics["accuracy_concepts"], metrics["accuracy_concepts_std"] = informativeness(activations, labels, seed=seed)
    logger.info("token SAE (%s): held-out token R^2 %.4f, L0 %.2f per token, %d concepts over %d tokens of %d cells",
                regime, metrics["r2"], metrics["l0"], result.sae.n_latents, store.n_tokens, store.n_cells)  # fmt: skip
    test_cells = np.unique(np.asarray(store.cells)[result.test_rows])
    val_cells = np.unique(np.asarray(store.cells)[result.val_rows])
    layer = str(store.info.get("layer", ""))
    params = {
        **run_params(result, use_rep=f"tokens:{layer}", labels_key=labels_key if labels is not None else None,
                     n_seeds=n_seeds, regime=regime),
        "model": str(store.info.get("model", "")),
        "tokens": True,
        "layer": layer,
        "max_tokens_per_cell": store.info.get("max_tokens_per_cell"),
        "token_seed": int(store.info.get("seed", 0)),
        "n_tokens": store.n_tokens,
    }  # fmt: skip
    adata.uns[params_key(key_added)] = {
        "params": _uns_safe(params),
        "metrics": metrics,
        "normaliser": {"mean": result.sae.mean.cpu().numpy(), "scale": float(result.sae.scale)},
        "table": concept_table(activations, labels).join(flags),
        "consensus": _uns_safe({key: _plain(value) for key, value in summary.items()}),
        "val_cells": adata.obs_names[val_cells].to_numpy().astype(str),
        "test_cells": adata.obs_names[test_cells].to_numpy().astype(str),
    }
    return result
