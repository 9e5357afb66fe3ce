"""``tl.train_sae``: learn concepts from an embedding with a Top-K SAE, and measure them."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from anndata import AnnData

from scconcepts._errors import InputError
from scconcepts._keys import DEFAULT_KEY, activations_key, params_key
from scconcepts._threads import sae_work, threads_by_size
from scconcepts.sae import SAEConfig, TrainingResult, encode_csr, informativeness, reconstruction_metrics, train
from scconcepts.tl._concept_table import concept_table

logger = logging.getLogger(__name__)


def _uns_safe(values: dict[str, Any]) -> dict[str, Any]:
    """Replace what h5ad cannot store (``None``) so the dict survives a write."""
    return {key: ("none" if value is None else value) for key, value in values.items()}


@threads_by_size(sae_work)
def train_sae(
    adata: AnnData,
    *,
    use_rep: str,
    k: int | None = None,
    expansion: int = 4,
    seed: int = 0,
    key_added: str = DEFAULT_KEY,
    labels_key: str | None = "cell_type",
    **config: Any,
) -> TrainingResult:
    """Train a Top-K SAE on ``adata.obsm[use_rep]``; each latent is a concept.

    Writes ``obsm["X_<key_added>"]`` (cells x concepts activations, CSR) and ``uns[key_added]`` with
    ``params``, ``metrics`` (on held-out cells: ``r2``, ``mse``, ``l0``, ``dead_fraction``, ``cosine``,
    ``norm_ratio``; ``dead_fraction_all`` over every cell; with labels, ``accuracy_concepts`` and
    ``accuracy_embedding``: 5-fold cross-validated balanced accuracy of a logistic-regression
    cell-type classifier) and ``table`` (one row per concept, see :func:`concept_table`).

    Parameters
    ----------
    adata
        Cells with an embedding in ``obsm``.
    use_rep
        ``obsm`` key of the embedding, e.g. ``"X_scvi"``.
    k
        Active concepts per cell; ``None`` picks half the embedding dimension (at most 32).
    expansion
        Dictionary size as a multiple of the embedding dimension.
    seed
        Random seed of initialisation, split and shuffling.
    key_added
        Stem of the keys written, so that several runs can live in one object.
    labels_key
        ``obs`` column of cell types for the concept table and informativeness (skipped if absent).
    **config
        Further :class:`~scconcepts.sae.SAEConfig` fields (``lr``, ``epochs``, ``batch_topk``...).

    Returns
    -------
    The trained SAE with its split and training history.

    """
    if use_rep not in adata.obsm:
        raise InputError(
            f"obsm[{use_rep!r}] not found; run scconcepts.tl.embed first or choose one of {list(adata.obsm)}"
        )
    embedding = adata.obsm[use_rep]
    unknown = set(config) - set(SAEConfig.__dataclass_fields__)
    if unknown:
        raise InputError(f"unknown SAE settings {sorted(unknown)}; see scconcepts.sae.SAEConfig")
    result = train(embedding, SAEConfig(k=k, expansion=expansion, seed=seed, **config))
    activations = encode_csr(result.sae, embedding)
    adata.obsm[activations_key(key_added)] = activations

    metrics = reconstruction_metrics(result.sae, embedding, result.val_rows)
    metrics["n_cells_heldout"] = metrics.pop("n_cells")
    metrics["dead_fraction_all"] = float((np.diff(activations.tocsc().indptr) == 0).mean())
    labels = adata.obs[labels_key] if labels_key is not None and labels_key in adata.obs else None
    if labels is not None:
        metrics["accuracy_concepts"], metrics["accuracy_concepts_std"] = informativeness(activations, labels, seed=seed)
        metrics["accuracy_embedding"], metrics["accuracy_embedding_std"] = informativeness(
            np.asarray(embedding), labels, seed=seed
        )
    logger.info(
        "SAE on %s: held-out R^2 %.4f, L0 %.2f, dead %.1f%%",
        use_rep,
        metrics["r2"],
        metrics["l0"],
        100 * metrics["dead_fraction"],
    )
    params = {
        "use_rep": use_rep,
        "model": use_rep.removeprefix("X_"),
        "embedding_dim": result.sae.d_in,
        "n_concepts": result.sae.n_latents,
        "labels_key": labels_key if labels is not None else None,
        "n_cells_train": len(result.train_rows),
        "n_cells_val": len(result.val_rows),
        "best_epoch": result.best_epoch,
        **result.config.to_dict(),
    }
    adata.uns[params_key(key_added)] = {
        "params": _uns_safe(params),
        "metrics": metrics,
        "normaliser": {"mean": result.sae.mean.cpu().numpy(), "scale": float(result.sae.scale)},
        "table": concept_table(activations, labels),
        "val_cells": adata.obs_names[result.val_rows].to_numpy().astype(str),
    }
    return result
