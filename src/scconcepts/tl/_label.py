"""Automatic short concept labels: the top elim term and the cell type(s) where the concept fires."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse

from scconcepts._errors import InputError
from scconcepts._keys import DEFAULT_KEY, activations_key, enrichment_key, labels_key_of, params_key

logger = logging.getLogger(__name__)

_SHORTER = [
    (r"^positive regulation of ", "+reg. of "),
    (r"^negative regulation of ", "-reg. of "),
    (r"^regulation of ", "reg. of "),
    (r"\bsignaling pathway\b", "signaling"),
    (r"\binvolved in\b", "in"),
    (r"^antigen processing and presentation\b", "antigen presentation"),
    (r"\bof (exogenous |endogenous )?(peptide |polysaccharide |lipid )?antigen via\b", "via"),
    (r"\bbiosynthetic process\b", "biosynthesis"),
    (r"\bmetabolic process\b", "metabolism"),
]


def short_term(name: str, *, max_len: int = 48) -> str:
    """Return a short form of a term name (common phrases abbreviated, cut at a word boundary)."""
    text = re.sub(r"\s*\((GO|R-HSA)[:\-][\w\-]+\)\s*$", "", str(name)).strip()
    for pattern, replacement in _SHORTER:
        text = re.sub(pattern, replacement, text, flags=re.IGNORECASE)
    if len(text) <= max_len:
        return text
    cut = text[: max_len - 1].rsplit(" ", 1)[0]
    return f"{cut}…"


def dominant_cell_types(shares: pd.Series, *, cover: float = 0.7, max_types: int = 2) -> str:
    """Return the one or two cell types that hold ``cover`` of a concept's activation, else ``"mixed (<top>)"``."""
    shares = shares.sort_values(ascending=False)
    if shares.empty or shares.sum() <= 0:
        return ""
    total = 0.0
    for n, share in enumerate(shares.to_numpy(), start=1):
        total += share
        if total >= cover:
            return "/".join(map(str, shares.index[:n]))
        if n == max_types:
            break
    return f"mixed ({shares.index[0]})"


def _shares(adata: AnnData, key: str, cell_type: str) -> pd.DataFrame | None:
    a_key = activations_key(key)
    if a_key not in adata.obsm or cell_type not in adata.obs:
        return None
    acts = sparse.csr_matrix(adata.obsm[a_key])
    labels = pd.Categorical(adata.obs[cell_type].astype(str))
    onehot = sparse.csr_matrix(
        (np.ones(len(labels)), (np.arange(len(labels)), labels.codes)), shape=(len(labels), len(labels.categories))
    )
    mass = np.asarray((onehot.T @ acts).todense())  # types x concepts
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = mass / mass.sum(axis=0, keepdims=True)
    return pd.DataFrame(np.nan_to_num(shares), index=labels.categories)


def _top_terms(table: pd.DataFrame, sources: Sequence[str] | None) -> pd.DataFrame:
    rows = table[(table["ranking"] == "attribution") & table["elim"].astype(bool)] if "ranking" in table else table
    if not len(rows):
        return rows
    order = (
        list(sources) if sources else sorted(rows["source"].unique(), key=lambda s: (s != "go_bp", "GO" not in s, s))
    )
    rows = rows[rows["source"].isin(order)].copy()
    rows["_source_rank"] = rows["source"].map({s: i for i, s in enumerate(order)})
    rows["_positive"] = rows["score"] <= 0  # positively associated terms first
    rows["_rep"] = rows["duplicate_of"].fillna("") != ""
    rows = rows.sort_values(["concept", "_source_rank", "_positive", "_rep", "pval"], kind="stable")
    return rows.groupby("concept", sort=False).head(1).set_index("concept")


def label_concepts(
    adata: AnnData,
    *,
    key: str = DEFAULT_KEY,
    cell_type: str | None = None,
    sources: Sequence[str] | None = None,
    max_len: int = 48,
) -> None:
    """Give every concept a short automatic label, in place, in ``uns["<key>"]["table"]``.

    The label is ``"<cell types>: <term>"``: the cell type(s) holding most of the concept's
    activation and its best term kept by ``elim`` (lowest p-value among terms that are not
    near-duplicates, positively associated first, the first source of ``sources`` first: by
    default ``go_bp``, then other GO libraries). Adds the columns ``label``,
    ``top_term``, ``top_term_id``, ``top_term_source``, ``top_term_padj`` and ``cell_types``.
    Experts can override labels later in the explorer.

    Parameters
    ----------
    adata
        Data after :func:`scconcepts.tl.enrich` (and with ``obsm["X_<key>"]`` for cell types).
    key
        Stem of the concept keys.
    cell_type
        ``obs`` column of cell-type labels; ``None`` uses the one the run recorded
        (``uns["<key>"]["params"]["labels_key"]``, e.g. from ``--labels-key``), else ``"cell_type"``.
    sources
        Preferred sources, in order.
    max_len
        Longest term text in a label.

    """
    e_key = enrichment_key(key)
    if e_key not in adata.uns:
        raise InputError(f"adata.uns[{e_key!r}] is missing; run scconcepts.tl.enrich before labelling concepts")
    table = pd.DataFrame(adata.uns[e_key])
    info = adata.uns.setdefault(params_key(key), {})
    concepts = info.get("table")
    if concepts is None:
        n = adata.obsm[activations_key(key)].shape[1] if activations_key(key) in adata.obsm else 0
        n = max(n, int(table["concept"].max()) + 1 if len(table) else 0)
        concepts = pd.DataFrame(index=[str(i) for i in range(n)])
    concepts = concepts.copy()
    if cell_type is None:
        cell_type = labels_key_of(info.get("params", {}))
    top = _top_terms(table, sources) if len(table) else pd.DataFrame()
    shares = _shares(adata, key, cell_type)
    labels, terms, term_ids, term_sources, padjs, types = [], [], [], [], [], []
    for concept in concepts.index:
        cid = int(concept)
        kind = ""
        if shares is not None and cid < shares.shape[1]:
            kind = dominant_cell_types(shares[cid]) if shares[cid].sum() > 0 else "dead"
        hit = top.loc[cid] if cid in top.index else None
        term = short_term(hit["term"], max_len=max_len) if hit is not None else ""
        terms.append(hit["term"] if hit is not None else "")
        term_ids.append(hit["term_id"] if hit is not None else "")
        term_sources.append(hit["source"] if hit is not None else "")
        padjs.append(float(hit["padj"]) if hit is not None else np.nan)
        types.append(kind)
        if kind == "dead":
            labels.append(f"dead {cid}")
        else:
            labels.append(": ".join(p for p in (kind, term or f"no term ({cid})") if p))
    concepts["label"] = labels
    concepts["top_term"] = terms
    concepts["top_term_id"] = term_ids
    concepts["top_term_source"] = term_sources
    concepts["top_term_padj"] = padjs
    concepts["cell_types"] = types
    info["table"] = concepts
    logger.info("labelled %d concepts (%d with a term)", len(concepts), sum(bool(t) for t in terms))
