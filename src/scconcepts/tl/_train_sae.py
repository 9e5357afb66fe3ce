"""``tl.train_sae``: learn concepts from an embedding with a Top-K SAE, and measure them.

The entry point: it checks the inputs, learns the concepts (:mod:`scconcepts.sae._learn`) and writes the
activations and the run's record (settings, metrics, concept table, held-out cells) into the AnnData.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from anndata import AnnData

from scconcepts._device import resolve_device
from scconcepts._errors import InputError
from scconcepts._keys import DEFAULT_KEY, activations_key, params_key
from scconcepts._regime import (
    DEFAULT_ATOM_INIT,
    DEFAULT_ATOM_K,
    DEFAULT_EXPANSION,
    DEFAULT_REGIME,
    DEFAULT_SEEDS,
    REGIMES,
)
from scconcepts._threads import sae_work, threads_by_size
from scconcepts.sae import SAEConfig, TrainingResult, encode_csr
from scconcepts.sae._consensus import MIN_SHARE
from scconcepts.sae._learn import learn_concepts, log_run, run_metrics, run_params
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
    regime: str = DEFAULT_REGIME,
    k: int | None = None,
    expansion: int = DEFAULT_EXPANSION,
    seed: int = 0,
    key_added: str = DEFAULT_KEY,
    labels_key: str | None = "cell_type",
    n_seeds: int = DEFAULT_SEEDS,
    unreproducible: str = "drop",
    min_share: float = MIN_SHARE,
    n_jobs: int = 1,
    atom_k: int | None = DEFAULT_ATOM_K,
    client: Any = None,
    **config: Any,
) -> TrainingResult:
    """Learn concepts from ``adata.obsm[use_rep]``: a programs dictionary (default) or Top-K SAEs.

    By default (``regime="programs"``, see :func:`scconcepts.sae.fit_programs`) each concept is one side of an
    independent component of the embedding, read from its median; a concept fires where its component is past
    a threshold chosen for a validation R^2 of 0.99; the dictionary is the medoid of ``n_seeds`` ICA starts and
    each concept's reproducibility is measured against the others (``k``, ``expansion``, ``atom_k`` and the
    training settings are then unused). With ``regime="sae"`` the concepts are the decoder directions that
    recur across 5 seeds (see :func:`scconcepts.sae.consensus_train`), each seed learning its atoms with one
    active per cell (``atom_k=1``) from spherical k-means directions (``atom_init="kmeans"``), and cells are
    encoded with ``k`` of the kept atoms; with ``n_seeds=1`` one SAE's latents are the concepts (``atom_k`` is
    then unused).
    The concept count is then the number of directions that recurred, not ``expansion`` x dim.

    Writes ``obsm["X_<key_added>"]`` (cells x concepts activations, CSR) and ``uns[key_added]`` with
    ``params``, ``metrics`` (on the test cells, which neither training nor early stopping saw: ``r2``,
    ``mse``, ``l0``, ``dead_fraction`` and its values under the linear encoder and under pursuit
    (``dead_fraction_encoder``, ``dead_fraction_pursuit``), ``cosine``, ``norm_ratio``;
    ``dead_fraction_all`` over every cell; with labels, ``accuracy_concepts`` and ``accuracy_embedding``:
    3-fold cross-validated balanced accuracy of a logistic-regression cell-type classifier), ``table``
    (one row per concept, see :func:`concept_table`, plus ``reproducibility``, ``matched_cosine`` (NaN for a
    single seed), ``composite`` and ``composite_of``; with several seeds ``reproducible``), ``consensus``
    (what was pooled and kept; with several seeds ``metrics["reproduced_share"]``),
    ``val_cells`` and ``test_cells``.

    Parameters
    ----------
    adata
        Cells with an embedding in ``obsm``.
    use_rep
        ``obsm`` key of the embedding, e.g. ``"X_scvi"``.
    regime
        ``"programs"`` (independent components, additive; default) or ``"sae"`` (Top-K SAEs: a consensus of
        ``n_seeds`` seeds, or one SAE with ``n_seeds=1``).
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
    n_seeds
        SAEs to train for the consensus (seeds ``seed`` ... ``seed + n_seeds - 1``, default 5); 1 trains a
        single SAE.
    unreproducible
        ``"drop"``: keep only directions recurring in ``min_share`` of the runs (composites dropped);
        ``"flag"``: keep the first seed's SAE whole and flag each concept (``reproducible``, ``composite``).
    min_share
        Share of the seeds a concept must recur in (cosine > 0.9) to count as reproducible.
    n_jobs
        Processes training seeds at once (one thread each); 1 trains them one after another.
    atom_k
        With ``n_seeds > 1``: active latents per cell while the seeds learn their atoms (default 1; ``None``:
        ``k``); the concepts then encode cells with ``k`` (see :func:`scconcepts.sae.consensus_train`).
    client
        A ``dask.distributed`` client: with ``n_seeds > 1`` each seed's run is a task on its workers, giving
        the runs of one process. The final SAE (refit or first run) is trained here.
    **config
        Further :class:`~scconcepts.sae.SAEConfig` fields (``lr``, ``epochs``, ``batch_topk``...); ``device``
        also takes ``"auto"`` (the first CUDA GPU when torch sees one, else the CPU); ``atom_init`` defaults
        to ``"kmeans"`` here.

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
    if "device" in config:  # "auto" or a GPU that must exist (an InputError otherwise)
        config["device"] = str(resolve_device(config["device"]))
    if regime not in REGIMES:
        raise InputError(f"regime must be one of {', '.join(REGIMES)}, got {regime!r}")
    sae_config = SAEConfig(k=k, expansion=expansion, seed=seed, **{"atom_init": DEFAULT_ATOM_INIT, **config})
    result, flags, summary = learn_concepts(
        embedding, sae_config, regime=regime, n_seeds=n_seeds, min_share=min_share, unreproducible=unreproducible,
        n_jobs=n_jobs, atom_k=atom_k, client=client,
    )  # fmt: skip
    activations = encode_csr(result.sae, embedding)
    adata.obsm[activations_key(key_added)] = activations
    labels = adata.obs[labels_key] if labels_key is not None and labels_key in adata.obs else None
    metrics = run_metrics(result, embedding, activations, labels, seed=seed, flags=flags, n_seeds=n_seeds)
    log_run(use_rep, metrics, result.sae.n_latents, n_seeds)
    params = run_params(
        result, use_rep=use_rep, labels_key=labels_key if labels is not None else None, n_seeds=n_seeds, regime=regime
    )
    adata.uns[params_key(key_added)] = {
        "params": _uns_safe(params),
        "metrics": metrics,
        "normaliser": {"mean": result.sae.mean.cpu().numpy(), "scale": float(result.sae.scale)},
        "table": concept_table(activations, labels).join(flags),
        "consensus": _uns_safe({key: _plain(value) for key, value in summary.items()}),
        "val_cells": adata.obs_names[result.val_rows].to_numpy().astype(str),
        "test_cells": adata.obs_names[result.test_rows].to_numpy().astype(str),
    }
    return result


def _plain(value: Any) -> Any:
    """Lists as arrays, so that h5ad stores them."""
    return np.asarray(value) if isinstance(value, list) else value
