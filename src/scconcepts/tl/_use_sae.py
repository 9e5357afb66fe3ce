"""``use_sae``: concepts from an SAE brought along (``run --sae DIR``) instead of one trained here.

Writes what :func:`scconcepts.tl.train_sae` writes (activations, ``params``, ``metrics``, ``table``,
held-out cells), so attribution, enrichment, the explorer and the report read it the same way.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from anndata import AnnData

from scconcepts._errors import InputError
from scconcepts._keys import DEFAULT_KEY, activations_key, params_key
from scconcepts.sae import SAEConfig, TopKSAE, encode_csr, informativeness, reconstruction_metrics, split_rows
from scconcepts.sae._learn import single_run_flags
from scconcepts.sae._train import Split
from scconcepts.tl._concept_table import concept_table

logger = logging.getLogger(__name__)

#: ``params["regime"]`` of a run whose SAE was brought along rather than trained.
EXTERNAL = "external"


def use_sae(
    adata: AnnData,
    sae: TopKSAE,
    *,
    use_rep: str,
    key_added: str = DEFAULT_KEY,
    labels_key: str | None = "cell_type",
    seed: int = 0,
    source: dict[str, Any] | None = None,
) -> None:
    """Encode ``adata.obsm[use_rep]`` with ``sae`` and record it as the concepts ``key_added``.

    The SAE was trained elsewhere, on cells scconcepts does not know: its metrics are measured on test cells
    drawn at random as :func:`scconcepts.sae.split_rows` draws them (``val_cells`` and ``test_cells``, which
    the explanation score reads); they are held out from nothing but this run's own choices.

    Parameters
    ----------
    adata
        Cells with the embedding the SAE reads in ``obsm[use_rep]``.
    sae
        The SAE, e.g. from :func:`scconcepts.sae.load`.
    use_rep
        ``obsm`` key of the embedding.
    key_added
        Stem of the keys written.
    labels_key
        ``obs`` column of cell types (skipped if absent).
    seed
        Seed of the random test cells and of the classifier's folds.
    source
        Where the SAE came from (format, folder, hook, architecture), kept in ``params``.

    """
    if use_rep not in adata.obsm:
        raise InputError(f"obsm[{use_rep!r}] not found; choose one of {list(adata.obsm)}")
    embedding = adata.obsm[use_rep]
    if embedding.shape[1] != sae.d_in:
        raise InputError(f"the embedding {use_rep} has {embedding.shape[1]} dimensions but the SAE reads {sae.d_in}")
    defaults = SAEConfig()
    split = split_rows(adata.n_obs, defaults.val_fraction, defaults.test_fraction, seed)
    activations = encode_csr(sae, embedding)
    adata.obsm[activations_key(key_added)] = activations
    metrics = reconstruction_metrics(sae, embedding, split.test)
    metrics["n_cells_heldout"] = metrics.pop("n_cells")
    metrics["dead_fraction_all"] = float((np.diff(activations.tocsc().indptr) == 0).mean())
    labels = adata.obs[labels_key] if labels_key is not None and labels_key in adata.obs else None
    if labels is not None:
        metrics["accuracy_concepts"], metrics["accuracy_concepts_std"] = informativeness(activations, labels, seed=seed)
        metrics["accuracy_embedding"], metrics["accuracy_embedding_std"] = informativeness(
            np.asarray(embedding), labels, seed=seed
        )
    logger.info("SAE brought along on %s: R^2 %.4f, L0 %.2f, dead %.1f%%, %d concepts", use_rep, metrics["r2"],
                metrics["l0"], 100 * metrics["dead_fraction_all"], sae.n_latents)  # fmt: skip
    record_external(adata, sae, key_added=key_added, use_rep=use_rep, model=use_rep.removeprefix("X_"),
                    labels=labels, labels_key=labels_key, split=split, metrics=metrics, seed=seed,
                    source=source)  # fmt: skip


def record_external(
    adata: AnnData,
    sae: TopKSAE,
    *,
    key_added: str,
    use_rep: str,
    model: str,
    labels: Any,
    labels_key: str | None,
    split: Split,
    metrics: dict[str, Any],
    seed: int,
    source: dict[str, Any] | None,
    extra: dict[str, Any] | None = None,
) -> None:
    """Write ``uns[key_added]`` of an SAE brought along, as :func:`scconcepts.tl.train_sae` writes a trained one.

    ``split`` draws the held-out cells; ``extra`` adds to ``params`` (a token run's layer and sample).
    """
    activations = adata.obsm[activations_key(key_added)]
    params = {
        "use_rep": use_rep,
        "model": model,
        "embedding_dim": sae.d_in,
        "n_concepts": sae.n_latents,
        "labels_key": labels_key if labels is not None else None,
        "n_cells_train": 0,
        "n_cells_val": len(split.val),
        "n_cells_test": len(split.test),
        "k": sae.k,
        "expansion": max(1, round(sae.n_latents / sae.d_in)),
        "seed": seed,
        "inference": sae.inference,
        "n_seeds": 1,
        "regime": EXTERNAL,
        **(extra or {}),
        **{f"source_{name}": value for name, value in (source or {}).items()},
    }
    adata.uns[params_key(key_added)] = {
        "params": {name: ("none" if value is None else value) for name, value in params.items()},
        "metrics": metrics,
        "normaliser": {"mean": sae.mean.cpu().numpy(), "scale": float(sae.scale)},
        "table": concept_table(activations, labels).join(single_run_flags(sae)),
        "consensus": {"n_seeds": 1, "regime": EXTERNAL},
        "val_cells": adata.obs_names[split.val].to_numpy().astype(str),
        "test_cells": adata.obs_names[split.test].to_numpy().astype(str),
    }
