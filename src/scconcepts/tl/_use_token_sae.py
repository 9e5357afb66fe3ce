"""``use_token_sae``: token concepts from an SAE brought along (``run --tokens --sae DIR``) instead of one trained here.

The SAE (ours, SAELens', sparsify's) was trained elsewhere on gene-token states of the same model and layer. Each
token of the store is encoded with it and gathered per cell and per gene as :func:`scconcepts.tl.train_token_sae`
gathers its own dictionary, and the run is recorded the same way (``params["tokens"]``, the layer, the token
sample's seed), so attribution, enrichment, the explorer, the report and the evaluation read it as any token run.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from anndata import AnnData

from scconcepts._errors import InputError
from scconcepts._keys import DEFAULT_KEY, activations_key
from scconcepts.models._token_store import TokenStore
from scconcepts.sae import SAEConfig, TopKSAE, informativeness, reconstruction_metrics, split_rows
from scconcepts.sae._token_concepts import token_concepts
from scconcepts.tl._token_sae import check_store, write_token_concepts
from scconcepts.tl._use_sae import record_external

logger = logging.getLogger(__name__)


def use_token_sae(
    adata: AnnData,
    store: TokenStore,
    sae: TopKSAE,
    *,
    key_added: str = DEFAULT_KEY,
    labels_key: str | None = "cell_type",
    seed: int = 0,
    source: dict[str, Any] | None = None,
) -> None:
    """Encode every token of ``store`` with ``sae`` and record the result as the token concepts ``key_added``.

    Its metrics are measured on the tokens of test cells drawn at random (:func:`scconcepts.sae.split_rows` over
    the cells): the SAE was trained elsewhere, so they are held out from nothing but this run's own choices.

    Parameters
    ----------
    adata
        The cells the store was read from (same cells, same order).
    store
        Gene-token states (:func:`scconcepts.tl.token_activations`) of the model and layer the SAE was trained on.
    sae
        The SAE, e.g. from :func:`scconcepts.sae.load`.
    key_added, labels_key, seed, source
        As for :func:`scconcepts.tl.use_sae`.

    """
    gene_rows = check_store(adata, store)
    if store.dim != sae.d_in:
        raise InputError(f"the token states at {store.info.get('layer')} have {store.dim} dimensions but the SAE "
                         f"reads {sae.d_in}")  # fmt: skip
    defaults = SAEConfig()
    split = split_rows(store.n_cells, defaults.val_fraction, defaults.test_fraction, seed)
    concepts = token_concepts(sae, store.states, store.cells, store.genes, n_cells=store.n_cells,
                              n_genes=len(store.gene_names))  # fmt: skip
    write_token_concepts(adata, concepts, gene_rows, key_added)
    activations = adata.obsm[activations_key(key_added)]
    test_tokens = np.flatnonzero(np.isin(np.asarray(store.cells), split.test))
    metrics = reconstruction_metrics(sae, store.states, test_tokens)
    metrics["n_tokens_heldout"] = metrics.pop("n_cells")
    metrics["dead_fraction_all"] = float((np.diff(activations.tocsc().indptr) == 0).mean())
    labels = adata.obs[labels_key] if labels_key is not None and labels_key in adata.obs else None
    if labels is not None:
        metrics["accuracy_concepts"], metrics["accuracy_concepts_std"] = informativeness(activations, labels, seed=seed)
    layer = str(store.info.get("layer", ""))
    logger.info("token SAE brought along on %s: R^2 %.4f, L0 %.2f per token, %d concepts over %d tokens", layer,
                metrics["r2"], metrics["l0"], sae.n_latents, store.n_tokens)  # fmt: skip
    extra = {"tokens": True, "layer": layer, "max_tokens_per_cell": store.info.get("max_tokens_per_cell"),
             "token_seed": int(store.info.get("seed", 0)), "n_tokens": store.n_tokens}  # fmt: skip
    record_external(adata, sae, key_added=key_added, use_rep=f"tokens:{layer}", model=str(store.info.get("model", "")),
                    labels=labels, labels_key=labels_key, split=split, metrics=metrics, seed=seed, source=source,
                    extra=extra)  # fmt: skip
