"""``scconcepts.tl.apply``: label new cells with a trained run's model and SAE, without retraining the concepts."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from anndata import AnnData

from scconcepts._device import move_models
from scconcepts._errors import InputError
from scconcepts._keys import DEFAULT_KEY, activations_key, attribution_key, enrichment_key, labels_key_of, params_key
from scconcepts._threads import encoder_work, threads_by_size
from scconcepts.models import Encoder
from scconcepts.sae import TopKSAE, encode_csr, reconstruction_metrics
from scconcepts.tl._concept_model import refuse_token_run
from scconcepts.tl._concept_table import concept_table

logger = logging.getLogger(__name__)

#: Share of the model's genes the new cells must hold.
MIN_GENE_SHARE = 0.5


def check_genes(adata: AnnData, encoder: Encoder, *, min_share: float = MIN_GENE_SHARE) -> float:
    """Return the share of the model's genes in ``adata``; InputError when below ``min_share``."""
    genes = encoder.genes
    found = int(pd.Index(adata.var_names).isin(genes).sum())
    share = found / max(len(genes), 1)
    if share < min_share:
        raise InputError(
            f"the new cells hold {found} of the model's {len(genes)} genes ({share:.0%}; at least {min_share:.0%} "
            "needed): they measure too few of its genes or name them differently (model e.g. "
            f"{', '.join(genes[:3])}; data e.g. {', '.join(map(str, adata.var_names[:3]))})"
        )
    if share < 1:
        logger.warning(
            "%d of the model's %d genes are missing from the new cells; they count as zero",
            len(genes) - found,
            len(genes),
        )
    return share


def _new_batches(encoder: Encoder, adata: AnnData) -> list[str]:
    key = getattr(encoder, "batch_key", None)
    known = getattr(encoder, "_batches", None)
    if key is None or known is None or key not in adata.obs:
        return []
    return sorted(set(adata.obs[key].astype(str)) - set(known))


def query_encoder(encoder: Encoder, adata: AnnData, *, max_epochs: int = 100) -> Encoder:
    """The encoder for new cells; for scVI cells of batches it never saw, adapted as scvi-tools does for queries.

    scvi-tools' query mapping (``SCVI.prepare_query_anndata`` + ``SCVI.load_query_data`` + training of the
    new batches' weights only, scArches surgery) is used when the new cells bring batches the model does not
    know and the model reads the batch; the SAE is never retrained.
    """
    new = _new_batches(encoder, adata)
    if not new:
        return encoder
    from scconcepts.models._scvi import ScviEncoder
    from scconcepts.models._scvi_train import _lightning_device

    if not isinstance(encoder, ScviEncoder):
        return encoder
    if not encoder._uses_batch() and int(getattr(encoder.model.module, "n_batch", 1)) <= 1:
        return encoder
    import scvi

    logger.info(
        "new batches %s: mapping the query with scvi-tools (%d epochs on the new batches' weights)", new[:5], max_epochs
    )
    query = AnnData(X=encoder.expression(adata), obs=adata.obs[[encoder.batch_key]].astype(str).astype("category"))
    query.var_names = encoder.genes
    query.obs_names = adata.obs_names
    scvi.model.SCVI.prepare_query_anndata(query, encoder.model)
    model = scvi.model.SCVI.load_query_data(query, encoder.model)
    model.train(
        max_epochs=max_epochs,
        plan_kwargs={"weight_decay": 0.0},
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        **_lightning_device(encoder.device),  # where the run's model is (the CPU unless a device was asked for)
    )
    return ScviEncoder(model, batch_key=encoder.batch_key)


@threads_by_size(encoder_work)
def apply(
    adata: AnnData,
    *,
    encoder: Encoder,
    sae: TopKSAE,
    key: str = DEFAULT_KEY,
    reference: AnnData | None = None,
    labels_key: str | None = None,
    min_gene_share: float = MIN_GENE_SHARE,
    query_epochs: int = 100,
    device: str | None = None,
) -> Encoder:
    """Embed new cells with a run's model and encode them with its SAE (nothing about the concepts is retrained).

    Writes ``obsm["X_<model>"]``, ``obsm["X_<key>"]`` (activations), ``uns[key]`` (the run's parameters,
    metrics of the SAE on the new cells, and the concept table recomputed on them with the run's labels)
    and, with a ``reference``, ``obsm["X_umap"]`` (each new cell placed on the run's map at the mean position
    of its 15 nearest run cells in the embedding) and the run's attribution and enrichment.

    Parameters
    ----------
    adata
        New cells (genes matched to the model's by name; missing genes count as zero).
    encoder, sae
        The run's model and SAE.
    key
        Stem of the concept keys.
    reference
        The run's AnnData (its ``uns[key]``, map, attribution and enrichment are carried over).
    labels_key
        ``obs`` column of cell types of the new cells, if any (default: the run's).
    min_gene_share
        Share of the model's genes the new cells must hold.
    query_epochs
        scVI only: epochs of query mapping when the new cells bring unseen batches.
    device
        Torch device to move the encoder and the SAE to first (``"auto"``, ``"cpu"``, ``"cuda"``,
        ``"cuda:N"``, ``"mps"``; query mapping trains there too); ``None`` leaves them where they are. A
        device this machine lacks is an InputError.

    Returns
    -------
    The encoder used (for scVI with new batches, the query-mapped model).

    """
    if device is not None:
        move_models(encoder, sae, device=device)
    check_genes(adata, encoder, min_share=min_gene_share)
    encoder = query_encoder(encoder, adata, max_epochs=query_epochs)
    use_rep = encoder.obsm_key
    ref_info = dict(reference.uns.get(params_key(key), {})) if reference is not None else {}
    params = dict(ref_info.get("params", {}))
    refuse_token_run(params, "apply")
    use_rep = str(params.get("use_rep", use_rep))
    embedding = encoder.embed(adata)
    adata.obsm[use_rep] = embedding
    acts = encode_csr(sae, embedding)
    adata.obsm[activations_key(key)] = acts
    labels_key = labels_key or labels_key_of(params)
    labels = adata.obs[labels_key] if labels_key in adata.obs else None
    table = concept_table(acts, labels)
    ref_table = ref_info.get("table")
    if isinstance(ref_table, pd.DataFrame):
        # counts and cell types are recomputed on the new cells; labels and judgements come from the run
        carried = [c for c in ref_table.columns if c not in table.columns or c == "label"]
        table = table.drop(columns=[c for c in carried if c in table.columns])
        table = table.join(ref_table[carried].set_axis(ref_table.index.astype(str)), how="left")
    metrics = reconstruction_metrics(sae, embedding)
    params.update(
        use_rep=use_rep, model=encoder.name, applied=True, labels_key=labels_key if labels is not None else "none"
    )
    adata.uns[params_key(key)] = {"params": params, "metrics": metrics, "table": table}
    if reference is not None:
        _carry_reference(adata, reference, embedding, use_rep, key)
    logger.info(
        "applied to %d cells: R^2 %.3f, L0 %.2f (the run's SAE, not retrained)",
        adata.n_obs,
        metrics["r2"],
        metrics["l0"],
    )
    return encoder


def _carry_reference(adata: AnnData, reference: AnnData, embedding: np.ndarray, use_rep: str, key: str) -> None:
    from scconcepts.steering._landing import Neighbourhood

    if "X_umap" in reference.obsm and use_rep in reference.obsm:
        hood = Neighbourhood(np.asarray(reference.obsm[use_rep]))
        idx = hood.index.kneighbors(embedding, n_neighbors=hood.k, return_distance=False)
        adata.obsm["X_umap"] = np.asarray(reference.obsm["X_umap"])[:, :2][idx].mean(axis=1).astype(np.float32)
    for name in [n for n in reference.varm if n.startswith(attribution_key(key))]:
        values = pd.DataFrame(np.asarray(reference.varm[name]), index=reference.var_names)
        adata.varm[name] = values.reindex(adata.var_names).to_numpy(dtype=np.float32)
    info: dict[str, Any] = reference.uns.get(attribution_key(key), {})
    if isinstance(info, dict) and info:
        adata.uns[attribution_key(key)] = info
    if enrichment_key(key) in reference.uns:
        adata.uns[enrichment_key(key)] = reference.uns[enrichment_key(key)]
