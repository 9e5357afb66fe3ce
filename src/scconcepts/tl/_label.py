"""Automatic concept labels from the specific ranking: cell type, the most specific term, 2-3 specific genes.

``NK: cell killing (GNLY, NKG7, PRF1)``: the cell type(s) holding most of the concept's activation per cell,
then the concept's most specific term, then its most specific genes. A term found in many concepts
says little about any one of them, so terms are weighted like words in a document (TF-IDF): by how
strongly the concept carries the term (-log10 p), times the log of how rare the term is among the
concepts. Labels are never silently repeated: a concept whose label term another concept
already holds more strongly is moved to its next specific term when one is nearly as good, else it
keeps the term and the concept table says which concept it repeats (``duplicate_of``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse

from scconcepts._errors import InputError
from scconcepts._keys import (
    DEFAULT_KEY,
    activations_key,
    attribution_key,
    attribution_padj_key,
    enrichment_key,
    labels_key_of,
    params_key,
)
from scconcepts.genesets._terms import concept_terms, significant_rows
from scconcepts.stats import type_shares
from scconcepts.tl._redundancy import profile_redundancy

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
#: A concept moves off a term another concept holds when its next term keeps this share of the weight.
SWITCH_SHARE = 0.5
#: Label terms are chosen among a concept's terms at least this strong relative to its strongest (-log10 p).
STRENGTH_WINDOW = 0.5
#: Columns :func:`label_concepts` adds to the concept table.
LABEL_COLUMNS = ["label", "top_term", "top_term_id", "top_term_source", "top_term_padj", "top_term_concepts", "n_terms",
                 "top_genes", "n_significant_genes", "cell_types", "redundancy", "duplicate_of"]  # fmt: skip


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
    """Return the one or two cell types that hold ``cover`` of a concept's activation, else ``"mixed (<top>)"``.

    ``shares`` are a concept's cell-type shares (:func:`scconcepts.stats.type_shares`: mean activation per
    cell of each type, normalised over types, so a type's size alone never makes it dominant); ties keep
    the order given, as the concept table's ``top_cell_type`` does.
    """
    shares = shares.sort_values(ascending=False, kind="stable")
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
    """Types x concepts cell-type shares (:func:`scconcepts.stats.type_shares`), ``None`` without types."""
    a_key = activations_key(key)
    if a_key not in adata.obsm or cell_type not in adata.obs:
        return None
    return type_shares(sparse.csr_matrix(adata.obsm[a_key]), adata.obs[cell_type]).shares_frame()


def _idf(document_frequency: pd.Series | np.ndarray, n_documents: int) -> np.ndarray:
    """Smoothed inverse document frequency: log((1 + N) / df); a term in every concept still weighs > 0."""
    df = np.maximum(np.asarray(document_frequency, dtype=np.float64), 1.0)
    return np.log((1.0 + n_documents) / df)


def term_weights(
    table: pd.DataFrame,
    *,
    alpha: float = 0.05,
    sources: Sequence[str] | None = None,
    window: float = STRENGTH_WINDOW,
) -> pd.DataFrame:
    """Return every concept's terms (:func:`~scconcepts.genesets.concept_terms`) weighted by specificity.

    ``strength`` = -log10 p of the term in the concept; ``n_concepts_with_term``: concepts in which
    the term is significant (enriched, attribution ranking, FDR < ``alpha``, elim or not); ``idf`` =
    log((1 + N) / that) over the N enriched concepts; ``weight`` = strength x idf; ``candidate``: the
    term's strength is at least ``window`` x the concept's strongest term's, so a label is chosen among
    the concept's strong terms only. Rows are sorted by source preference, weight, then depth in the
    ontology (deeper first) and p.

    Why this weight: on the 3,500 sorted PBMC with the specific attribution, the lowest p labelled 9 of
    37 concepts "antigen presentation via MHC class II" (24%), 5 with strength x idf; without the window
    strength x idf picked barely significant one-off terms ("gastrulation" for a naive T concept whose
    strongest terms are translation and T cell differentiation).
    """
    terms = concept_terms(table, alpha=alpha)
    if sources is not None:
        terms = terms[terms["source"].isin(list(sources))]
    extra = ["n_concepts_with_term", "idf", "strength", "weight", "candidate", "source_rank"]
    if not len(terms):
        return terms.assign(**{column: [] for column in extra})
    significant = significant_rows(table, alpha=alpha, elim=False)
    df = significant.groupby(["source", "term_id"])["concept"].nunique()
    n = int(table["concept"].nunique())
    terms = terms.copy()
    pairs = pd.MultiIndex.from_frame(terms[["source", "term_id"]])
    terms["n_concepts_with_term"] = df.reindex(pairs).fillna(1).to_numpy().astype(int)
    terms["idf"] = _idf(terms["n_concepts_with_term"], n)
    terms["strength"] = -np.log10(np.clip(pd.to_numeric(terms["pval"]).to_numpy(dtype=np.float64), 1e-300, 1.0))
    terms["weight"] = terms["strength"] * terms["idf"]
    strongest = terms.groupby("concept")["strength"].transform("max")
    terms["candidate"] = terms["strength"] >= window * strongest
    order = list(sources) if sources else sorted(terms["source"].unique(), key=lambda s: (s != "go_bp", "GO" not in s))
    terms["source_rank"] = terms["source"].map({s: i for i, s in enumerate(order)})
    terms["_depth"] = pd.to_numeric(terms["depth"], errors="coerce").fillna(0)
    terms = terms.sort_values(["concept", "source_rank", "weight", "_depth", "pval"],
                              ascending=[True, True, False, False, True], kind="stable")  # fmt: skip
    return terms.drop(columns="_depth").reset_index(drop=True)


def choose_terms(weights: pd.DataFrame, *, switch_share: float = SWITCH_SHARE) -> dict[int, tuple[pd.Series, int]]:
    """Pick each concept's label term among its candidates, avoiding terms another concept already holds.

    Concepts pick in the order of their best weight; a concept whose best term is taken moves to its
    best free candidate if that keeps ``switch_share`` of the best weight, else it keeps the taken term
    and repeats the concept that took it first.

    Returns
    -------
    ``{concept: (row of weights, concept it repeats or -1)}``.

    """
    if not len(weights):
        return {}
    first_source = weights.groupby("concept")["source_rank"].transform("min")
    weights = weights[(weights["source_rank"] == first_source) & weights["candidate"].astype(bool)]
    groups = {int(c): g for c, g in weights.groupby("concept", sort=False)}
    order = sorted(groups, key=lambda c: -float(groups[c]["weight"].iloc[0]))
    holder: dict[tuple[str, str], int] = {}
    out: dict[int, tuple[pd.Series, int]] = {}
    for concept in order:
        group = groups[concept]
        best = group.iloc[0]
        free = group[[(s, t) not in holder for s, t in zip(group["source"], group["term_id"], strict=True)]]
        if len(free) and float(free["weight"].iloc[0]) >= switch_share * float(best["weight"]):
            row, repeats = free.iloc[0], -1
        else:
            row, repeats = best, holder[(best["source"], best["term_id"])]
        holder.setdefault((row["source"], row["term_id"]), concept)
        out[concept] = (row, repeats)
    return out


def specific_genes(
    adata: AnnData, key: str, *, n_genes: int = 3, alpha: float = 0.05
) -> tuple[list[list[str]], np.ndarray]:
    """Each concept's ``n_genes`` top genes of the attribution ranking (significant first), and its significant count.

    The ranking is ``varm["<key>_attribution"]``, the concept-specific score (the gene's effect on this
    concept beyond its effect on concepts in general), so no further weighting is applied: a TF-IDF-like
    gene weight tried on the sorted PBMC pushed markers (GNLY, CCR7, S100A8) out for one-off genes.
    Genes significant at ``alpha`` (``varm["<key>_attribution_padj"]``) come first; when fewer than
    ``n_genes`` are, the label is filled from the top of the ranking (the calibrated test finds few
    significant genes per concept on a few thousand cells), and ``n_significant_genes`` says how many were.
    """
    a_key = attribution_key(key)
    if a_key not in adata.varm:
        return [], np.zeros(0, dtype=int)
    scores = np.nan_to_num(np.asarray(adata.varm[a_key], dtype=np.float64))
    positive = np.where(scores > 0, scores, 0.0)
    p_key = attribution_padj_key(key)
    padj = np.nan_to_num(np.asarray(adata.varm[p_key], dtype=np.float64), nan=1.0) if p_key in adata.varm else None
    significant = (positive > 0) & (padj < alpha) if padj is not None else np.zeros_like(positive, dtype=bool)
    weight = positive + significant * (positive.max(initial=0.0) + 1.0)  # significant genes first
    names = np.asarray(adata.var_names).astype(str)
    out = []
    for c in range(positive.shape[1]):
        rows = np.argsort(-weight[:, c], kind="stable")[:n_genes]
        out.append([names[r] for r in rows if weight[r, c] > 0])
    return out, significant.sum(axis=0)


def _compose(cid: int, kind: str, term: str, genes: Sequence[str]) -> str:
    prefix = kind if kind and not kind.startswith("mixed") else ""
    body = term or "no term"
    body += f" ({', '.join(genes)})" if genes else "" if term else f" ({cid})"
    return f"{prefix}: {body}" if prefix else body


def label_concepts(
    adata: AnnData,
    *,
    key: str = DEFAULT_KEY,
    cell_type: str | None = None,
    sources: Sequence[str] | None = None,
    max_len: int = 48,
    alpha: float = 0.05,
    n_genes: int = 3,
) -> None:
    """Give every concept a short, distinct automatic label, in place, in ``uns["<key>"]["table"]``.

    The label is ``"<cell types>: <term> (<genes>)"``, e.g. ``NK: cell killing (GNLY, NKG7, PRF1)``:

    - cell types: the one or two types holding 70% of the concept's cell-type shares
      (:func:`scconcepts.stats.type_shares`, read against each type's size; none when mixed);
    - term: among the concept's terms (:func:`~scconcepts.genesets.concept_terms`: enriched in the
      attribution ranking, FDR < ``alpha``, kept by elim) at least half as strong as its strongest, the
      most specific one (:func:`term_weights`: -log10 p x IDF over concepts, deeper GO terms first among
      ties), first source of ``sources`` first (default ``go_bp``, then other GO libraries); a term
      another concept holds more strongly is given up for the next one when that keeps half the weight
      (:func:`choose_terms`);
    - genes: the ``n_genes`` most specific genes of the attribution, significant ones first
      (:func:`specific_genes`).

    Adds the columns ``label``, ``top_term``, ``top_term_id``, ``top_term_source``, ``top_term_padj``,
    ``top_term_concepts`` (concepts in which that term is significant), ``n_terms``, ``top_genes``,
    ``n_significant_genes``, ``cell_types``, ``redundancy`` (largest cosine similarity of the concept's
    attribution profile with another concept's, :func:`~scconcepts.tl.profile_redundancy`) and
    ``duplicate_of`` (the concept whose label term it repeats or whose attribution it nearly copies, ""
    for none). Identical labels get the concept id appended. Experts can override labels in the explorer.

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
    alpha
        FDR threshold of terms and genes.
    n_genes
        Genes in a label.

    """
    e_key = enrichment_key(key)
    if e_key not in adata.uns:
        raise InputError(f"adata.uns[{e_key!r}] is missing; run scconcepts.tl.enrich before labelling concepts")
    table = pd.DataFrame(adata.uns[e_key])
    info = adata.uns.setdefault(params_key(key), {})
    if cell_type is None:
        cell_type = labels_key_of(info.get("params", {}))
    concepts = info.get("table")
    if concepts is None:
        n = adata.obsm[activations_key(key)].shape[1] if activations_key(key) in adata.obsm else 0
        n = max(n, int(table["concept"].max()) + 1 if len(table) else 0)
        concepts = pd.DataFrame(index=[str(i) for i in range(n)])
    concepts = concepts.copy()
    weights = term_weights(table, alpha=alpha, sources=sources) if len(table) else pd.DataFrame()
    chosen = choose_terms(weights) if len(weights) else {}
    n_terms = weights.groupby("concept").size() if len(weights) else pd.Series(dtype=int)
    genes, n_significant = specific_genes(adata, key, n_genes=n_genes, alpha=alpha)
    redundancy, nearest = profile_redundancy(adata, key)
    shares = _shares(adata, key, cell_type)
    rows = []
    for concept in concepts.index:
        cid = int(concept)
        kind = ""
        if shares is not None and cid < shares.shape[1]:
            kind = dominant_cell_types(shares[cid]) if shares[cid].sum() > 0 else "dead"
        hit, repeats = chosen.get(cid, (None, -1))
        gene_list = genes[cid] if cid < len(genes) else []
        term = short_term(hit["term"], max_len=max_len) if hit is not None else ""
        duplicate = repeats if repeats >= 0 else int(nearest[cid]) if cid < len(nearest) else -1
        rows.append({
            "label": f"dead {cid}" if kind == "dead" else _compose(cid, kind, term, gene_list),
            "top_term": hit["term"] if hit is not None else "",
            "top_term_id": hit["term_id"] if hit is not None else "",
            "top_term_source": hit["source"] if hit is not None else "",
            "top_term_padj": float(hit["padj"]) if hit is not None else np.nan,
            "top_term_concepts": int(hit["n_concepts_with_term"]) if hit is not None else 0,
            "n_terms": int(n_terms.get(cid, 0)),
            "top_genes": ";".join(gene_list),
            "n_significant_genes": int(n_significant[cid]) if cid < len(n_significant) else 0,
            "cell_types": kind,
            "redundancy": float(redundancy[cid]) if cid < len(redundancy) else np.nan,
            "duplicate_of": str(duplicate) if duplicate >= 0 and kind != "dead" else "",
        })  # fmt: skip
    labelled = pd.DataFrame(rows, index=concepts.index, columns=list(rows[0]) if rows else LABEL_COLUMNS)
    labelled["label"] = _distinct(labelled["label"])
    for column in labelled.columns:
        concepts[column] = labelled[column]
    info["table"] = concepts
    _log_labels(labelled)


def _distinct(labels: pd.Series) -> pd.Series:
    """Append ``#<id>`` to every repeat of a label, so no two concepts read the same."""
    seen = labels.duplicated(keep="first")
    return labels.where(~seen, labels + " #" + labels.index.astype(str))


def _log_labels(labelled: pd.DataFrame) -> None:
    alive = labelled[labelled["cell_types"] != "dead"]
    terms = alive.loc[alive["top_term"] != "", "top_term"]
    common = terms.value_counts()
    top = ""
    if len(common):
        top = f"; most common label term {common.index[0]!r} in {common.iat[0]} ({common.iat[0] / len(alive):.0%})"
    logger.info(
        "labelled %d concepts (%d alive): %d distinct label terms%s; %d flagged duplicate_of",
        len(labelled),
        len(alive),
        terms.nunique(),
        top,
        int((alive["duplicate_of"] != "").sum()),
    )
