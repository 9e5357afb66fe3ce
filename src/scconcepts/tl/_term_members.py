"""``tl.term_members``: whether each concept's label term holds beyond the top genes that named it."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from anndata import AnnData

from scconcepts._errors import InputError
from scconcepts._keys import activations_key, attribution_key, params_key
from scconcepts._threads import encoder_work, threads_by_size
from scconcepts.attribution import select_cells
from scconcepts.ds._lazy import is_lazy
from scconcepts.evaluation._deletion import deletion_falls
from scconcepts.evaluation._term_members import held_out, matched_draws
from scconcepts.genesets import harmonise_genes, load_source
from scconcepts.genesets._go import ensembl_to_symbol
from scconcepts.models._base import Encoder
from scconcepts.stats._faithfulness import N_SD
from scconcepts.tl._enrich import ranking_key
from scconcepts.tl._faithfulness import _cells_read

logger = logging.getLogger(__name__)

#: A concept's top attributed genes, which the test leaves out of its term.
N_TOP = 20
#: Matched random sets behind the chance level.
N_RANDOM = 10
#: A concept's most active cells in which the genes are set to its baseline (as in ``tl.faithfulness``).
N_CELLS = 50
#: Columns added to the concept table.
COLUMNS = ("n_term_held_out", "fall_term_held_out", "fall_term_matched", "fall_term_matched_sd", "term_support")
#: ``term_support`` values: the held-out members beat matched genes, or the term rests on its top genes alone.
HELD_OUT, TOP_GENES_ONLY = "held-out members", "top genes only"
#: What a label resting on its top genes alone is marked with.
LABEL_MARK = " [top genes only]"


def _term_columns(adata: AnnData, key: str, names: np.ndarray, var: pd.DataFrame, table: pd.DataFrame,
                  go_db: Any, sources: Any) -> dict[str, np.ndarray]:  # fmt: skip
    """Per labelled concept, the columns of the model's genes that are members of its top term."""
    given = {} if sources is None else {
        loaded.source: loaded
        for loaded in (load_source(spec, go_db=go_db) for spec in ([sources] if isinstance(sources, str) else sources))
    }  # fmt: skip
    species = adata.uns[params_key(key)].get("enrichment_params", {}).get("species", "human")
    out: dict[str, np.ndarray] = {}
    for source, rows in table[table["top_term_id"].astype(str) != ""].groupby("top_term_source"):
        try:
            sets = given[str(source)] if str(source) in given else load_source(str(source), go_db=go_db)
        except InputError as error:
            logger.warning("held-out term members: %s not loaded (%s); its labels are not tested", source, error)
            continue
        keys = np.asarray(harmonise_genes(list(names), sets, var=var, species=species,
                                          ensembl_to_symbol=lambda: ensembl_to_symbol(go_db)))  # fmt: skip
        for concept, term in zip(rows.index, rows["top_term_id"], strict=True):
            out[str(concept)] = np.flatnonzero(np.isin(keys, sets.genes_of(str(term))))
    return out


@threads_by_size(encoder_work)
def term_members(
    adata: AnnData,
    *,
    encoder: Encoder,
    sae: Any,
    key: str = "concepts",
    n_top: int = N_TOP,
    n_cells: int = N_CELLS,
    n_random: int = N_RANDOM,
    go_db: Any = None,
    sources: Any = None,
    layer: str | None = None,
    seed: int = 0,
    batch_size: int = 2048,
) -> pd.DataFrame:
    """Test every labelled concept's term on its members outside the concept's top attributed genes.

    For each concept with a top term (``top_term_id`` of the concept table, from
    :func:`scconcepts.tl.label_concepts`), the term's members among the genes the model reads, less the
    concept's ``n_top`` top attributed genes, are set to the concept's baseline together in its ``n_cells``
    most active cells (:func:`scconcepts.evaluation._deletion.deletion_falls`); ``n_random`` random sets of
    as many genes, each matched to a member's expression decile in those cells
    (:func:`~scconcepts.evaluation._term_members.matched_draws`), give the chance level. The term holds
    (``term_support`` ``"held-out members"``) when the members' fall exceeds the matched sets' mean +
    2 sd; otherwise (or with no member left) it rests on its top genes alone (``"top genes only"``) and the
    concept's label is marked ``[top genes only]``.

    The top genes left out are those of the ranking the labels' enrichment read (``gene_ranking_key`` of
    ``uns["<key>"]["enrichment_params"]``: the per-gene token activation for token concepts, else the
    attribution). Token concepts are re-encoded as :func:`~scconcepts.tl.attribute` re-encodes them (the max over
    each cell's gene tokens, :class:`~scconcepts.attribution.TokenConceptEncoder`).

    Parameters
    ----------
    adata
        Cells with the SAE run ``key``, its attribution and labels.
    encoder
        The model that embedded the cells.
    sae
        The SAE (with ``.encode``) or a function embeddings -> activations.
    key
        Stem of the concept keys.
    n_top, n_cells, n_random
        Top genes left out, cells per concept, matched random sets.
    go_db
        Folder of the GO SQLite files (for ``go_bp`` terms).
    sources
        The gene-set sources the labels came from, as given to :func:`scconcepts.tl.enrich` (``.gmt`` paths,
        :class:`~scconcepts.genesets.GeneSets`); ``None`` reloads each label's source by its name.
    layer
        Layer holding the expression the model reads; ``None`` uses ``X``.
    seed
        Seed of the matched draws.
    batch_size
        Most cells re-encoded at once.

    Returns
    -------
    Per concept (index: concept id as in the table) the columns of :data:`COLUMNS` (NaN and ``""`` for
    concepts without a term), also written to the concept table; ``uns["<key>"]["term_members"]`` gets the
    share of tested labels that hold.

    """
    from scconcepts.tl._concept_model import concept_model

    info = adata.uns.get(params_key(key), {})
    table = info.get("table")
    if not isinstance(table, pd.DataFrame) or "top_term_id" not in table:
        raise InputError(f"no labelled concepts in uns[{key!r}]; run scconcepts.tl.label_concepts first")
    if attribution_key(key) not in adata.varm or activations_key(key) not in adata.obsm:
        raise InputError(f"run {key!r} has no attribution or activations; run scconcepts.tl.attribute first")
    encoder, components = concept_model(adata, key, encoder, sae)
    rows = adata.var_names.get_indexer(encoder.genes)
    columns = np.flatnonzero(rows >= 0)  # the model's genes the data hold
    names = np.asarray(adata.var_names)[rows[columns]]
    members = _term_columns(adata, key, names, adata.var.iloc[rows[columns]], table, go_db, sources)
    frame = pd.DataFrame(np.nan, index=table.index, columns=list(COLUMNS[:4]))
    frame["term_support"] = ""
    if members:
        activations = sp.csr_matrix(adata.obsm[activations_key(key)])
        source = _cells_read(adata, key, activations, n_cells, seed) if is_lazy(adata) else adata
        activations = sp.csr_matrix(source.obsm[activations_key(key)])
        x = encoder.expression(source, layer=layer)
        score = np.nan_to_num(np.asarray(adata.varm[ranking_key(adata, key)])[rows[columns]])
        ids = np.array([int(c) for c in members], dtype=np.int64)
        top_cells = select_cells(activations, ids, n_cells=int(n_cells), how="top")
        rng = np.random.default_rng(seed)
        sets, draws = [], []
        for concept, cells in zip(ids, top_cells, strict=True):
            top = np.argsort(-score[:, concept], kind="stable")[:n_top]
            genes = held_out(members[str(concept)], top)
            level = np.asarray(x[cells][:, columns].mean(axis=0)).ravel() if cells.size else np.zeros(columns.size)
            candidates = np.setdiff1d(np.arange(columns.size), np.union1d(members[str(concept)], top))
            sets.append({"held_out": columns[genes]})
            draws.append([columns[d] for d in matched_draws(genes, candidates, level, n_random=n_random, rng=rng)])
        falls = deletion_falls(encoder, components, x, activations, ids, sets, context=encoder.context(source),
                               n_cells=int(n_cells), seed=seed, batch_size=batch_size, draws=draws)  # fmt: skip
        for concept, chosen, fall in zip(ids, sets, falls, strict=True):
            holds = chosen["held_out"].size > 0 and fall["held_out"] > fall["random"] + N_SD * fall["random_sd"]
            verdict = HELD_OUT if holds else TOP_GENES_ONLY
            frame.loc[str(concept), list(COLUMNS)] = [chosen["held_out"].size, fall["held_out"], fall["random"],
                                                     fall["random_sd"], verdict]  # fmt: skip
    _write(table, frame, info, n_top=n_top, n_cells=n_cells, n_random=n_random)
    return frame


def _write(table: pd.DataFrame, frame: pd.DataFrame, info: dict[str, Any], **params: int) -> None:
    """Join the columns to the concept table, mark the labels that rest on top genes, record the share."""
    table = table.copy()
    for column in COLUMNS:
        table[column] = frame[column].to_numpy()
    if "label" in table:
        marked = (table["term_support"] == TOP_GENES_ONLY) & ~table["label"].astype(str).str.endswith(LABEL_MARK)
        table.loc[marked, "label"] = table.loc[marked, "label"].astype(str) + LABEL_MARK
    info["table"] = table
    tested = table["term_support"] != ""
    share = float((table.loc[tested, "term_support"] == HELD_OUT).mean()) if tested.any() else float("nan")
    info["term_members"] = {"n_tested": int(tested.sum()), "share_held_out": share, **params}
    logger.info(
        "held-out term members: %d of %d labels hold beyond their concept's top-%d genes (members set to baseline "
        "in %d top cells fall beyond %d expression-matched random sets, mean + %d sd)",
        int((table["term_support"] == HELD_OUT).sum()), int(tested.sum()), params["n_top"], params["n_cells"],
        params["n_random"], N_SD,
    )  # fmt: skip
