"""The JSON documents behind each page of the explorer: catalogue, concept, neuron, gene and cell type."""

from __future__ import annotations

from typing import Any

import numpy as np

from scconcepts.app._data import N_TOP, ConceptResults, _scalar, histogram
from scconcepts.stats._faithfulness import COLUMNS, N_SD, beats

N_TOP_CELLS = 20
NEURON_TOP_FRACTION = 0.05


def info(data: ConceptResults) -> dict[str, Any]:
    """What the folder holds: sizes, map bounds, which optional parts were computed."""
    lo, hi = data.umap.min(axis=0), data.umap.max(axis=0)
    return {
        "folder": data.folder.name,
        "n_cells": data.n_cells,
        "n_shown": int(data.map_points.shape[0]),  # the map's points: every cell, or a uniform sample of them
        "n_concepts": data.n_concepts,
        "n_neurons": 0 if data.embedding is None else int(data.embedding.shape[1]),
        "embedding": data.embedding_key,
        "labels_key": data.labels_key if data.cell_types is not None else None,
        "bounds": [float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])],
        "params": {k: _scalar(v) if not isinstance(v, (dict, list)) else str(v) for k, v in data.params.items()},
        "metrics": {k: _scalar(v) if not isinstance(v, (dict, list)) else str(v) for k, v in data.metrics.items()},
        "term_coverage": data.term_coverage,
        "tokens": token_info(data),
        "computed": {
            "cell_types": data.cell_types is not None,
            "attribution": data.attribution is not None,
            "de": data.de is not None,
            "enrichment": data.enrichment is not None,
            "decoder": data.decoder is not None,
        },
    }


def catalogue(data: ConceptResults) -> list[dict[str, Any]]:
    """One row per concept: id, automatic label, frequency, top cell types, genes and terms.

    ``top_genes`` / ``top_terms`` are what the table shows; ``search_genes`` (the top positively
    attributed genes, best first) and ``search_terms`` (all the concept's terms, not only the two
    shown) are what search looks at.
    """
    table = data.table
    freq = table["frequency"] if "frequency" in table else np.diff(data.acts_csc.indptr) / data.n_cells
    mean = table["mean_activation"] if "mean_activation" in table else [None] * data.n_concepts
    genes, terms = data.catalogue_genes, data.catalogue_terms
    search_genes, search_terms = data.search_genes, data.search_terms
    return [
        {
            "id": cid,
            "label": data.label(cid),
            "frequency": _scalar(float(freq[cid])),
            "mean_activation": _scalar(mean[cid]),
            "top_cell_types": data.top_types(cid),
            "top_genes": genes[cid],
            "top_terms": terms[cid],
            "search_genes": search_genes[cid],
            "search_terms": search_terms[cid],
        }
        for cid in range(data.n_concepts)
    ]


def concept(data: ConceptResults, cid: int) -> dict[str, Any]:
    """Everything the concept page shows about concept ``cid`` (optional parts are ``None``)."""
    cells, values = data.concept_values(cid)
    top = slice(max(cells.size - N_TOP_CELLS, 0), None)
    row = {k: _scalar(v) for k, v in data.table.loc[cid].items()}
    return {
        "kind": "concept",
        "id": cid,
        "label": data.label(cid),
        "row": row,
        "n_active": int(cells.size),
        "histogram": histogram(values, data.n_cells - cells.size),
        "top_cells": data.cell_rows(cells[top][::-1], values[top][::-1]),
        "top_cell_types": data.top_types(cid),
        "composition": data.concept_composition(cid),
        "composition_of": "concept's activation",
        "attribution": None if data.token.attribution_is_ranking else _attribution(data, cid),
        "tokens": token_genes(data, cid),
        "de": None if data.de is None else data.top_genes(data.de, cid),
        "faithfulness": faithfulness(data, cid),
        "enrichment": data.enrichment_rows(cid),
        "cosine": data.cosine_neighbours(cid),
        "coactivation": data.coactivation_neighbours(cid),
    }


def token_info(data: ConceptResults) -> dict[str, Any] | None:
    """A token run's layer and store figures (``None`` for a run on the cell embedding)."""
    if not data.token.run:
        return None
    store = data.token.store or {}
    return {
        "model": _scalar(data.params.get("model")),
        "layer": _scalar(data.params.get("layer", store.get("layer"))),
        "n_tokens": _scalar(data.params.get("n_tokens", store.get("n_tokens"))),
        "median_tokens_per_cell": store.get("median_tokens_per_cell"),
        "max_tokens_per_cell": _scalar(data.params.get("max_tokens_per_cell", store.get("max_tokens_per_cell"))),
        "per_cell_mean": data.token.mean is not None,
    }


def token_genes(data: ConceptResults, cid: int) -> dict[str, Any] | None:
    """A token run's "gene tokens" panel: the concept's top genes by per-gene token activation.

    ``genes`` is ``None`` when the run has no per-gene token activation; ``attribution`` says what the attribution
    beside it is: ``"counterfactual"``, or ``None`` when the run has no counterfactual attribution (older token
    runs stored the token ranking under the attribution's key: it is not shown as an attribution).
    """
    if not data.token.run:
        return None
    return {
        "layer": _scalar(data.params.get("layer")),
        "genes": None if data.token.genes is None else data.token.top_genes(cid, data.genes, N_TOP),
        "attribution": None if data.attribution is None or data.token.attribution_is_ranking else "counterfactual",
        "per_cell_mean": data.token.mean is not None,
    }


def faithfulness(data: ConceptResults, cid: int) -> dict[str, Any] | None:
    """How far concept ``cid`` falls when its top attributed, top DE or random genes are set to its baseline.

    ``None`` when the run has no ``fall_*`` columns (older runs, or no attribution). ``beats_de``: the
    attributed genes lower it at least as far as the DE genes; ``beats_random``: further than the random
    draws' mean + ``n_sd`` sd; ``faithful``: both.
    """
    if not set(COLUMNS[:4]) <= set(data.table.columns):
        return None
    row = data.table.loc[[cid], list(COLUMNS[:4])]
    beats_de, beats_random = (bool(side.iloc[0]) for side in beats(row))
    params = data.faithfulness_params
    return {
        **{name: _scalar(float(row[name].iloc[0])) for name in COLUMNS[:4]},
        "beats_de": beats_de,
        "beats_random": beats_random,
        "faithful": beats_de and beats_random,
        "n_sd": N_SD,
        **{name: _scalar(params[name]) for name in ("n_genes", "n_cells", "n_random") if name in params},
    }


def _attribution(data: ConceptResults, cid: int) -> dict[str, Any] | None:
    if data.attribution is None:
        return None
    return {
        "positive": data.top_genes(data.attribution, cid),
        "negative": data.top_genes(data.attribution, cid, sign=-1),
    }


def neuron(data: ConceptResults, dim: int) -> dict[str, Any]:
    """The concept page's content for embedding dimension ``dim``.

    Its "active" cells are the top :data:`NEURON_TOP_FRACTION` of cells by value; its neighbours are
    the concepts whose decoder writes most strongly on the dimension and the most correlated dimensions.
    """
    cells, values = data.neuron_values(dim)
    n_top = max(round(NEURON_TOP_FRACTION * data.n_cells), 1)
    top = slice(max(cells.size - N_TOP_CELLS, 0), None)
    writers = None
    if data.decoder is not None:
        weights = data.decoder[:, dim]
        order = np.argsort(-np.abs(weights), kind="stable")[:10]
        writers = [{"concept": int(j), "score": float(weights[j]), "label": data.label(int(j))} for j in order]
    emb = data.embedding
    corr = np.corrcoef(emb[:: max(1, emb.shape[0] // 200_000)].T) if emb.shape[1] > 1 else np.ones((1, 1))
    corr = np.atleast_2d(corr)[dim].copy()
    corr[dim] = -np.inf
    similar = [{"neuron": int(d), "score": float(corr[d])} for d in np.argsort(-corr, kind="stable")[:5] if d != dim]
    return {
        "kind": "neuron",
        "id": dim,
        "label": f"{data.embedding_key} dimension {dim}",
        "row": {
            "mean": float(values.mean()),
            "std": float(values.std()),
            "min": float(values[0]),
            "max": float(values[-1]),
        },
        "n_active": n_top,
        "histogram": histogram(values),
        "top_cells": data.cell_rows(cells[top][::-1], values[top][::-1]),
        "composition": data.composition(cells[-n_top:]),
        "composition_of": f"top {NEURON_TOP_FRACTION:.0%} of cells",
        "attribution": None,
        "de": None,
        "enrichment": None,
        "cosine": writers,
        "similar_neurons": similar,
        "coactivation": None,
    }


def gene(data: ConceptResults, name: str) -> dict[str, Any]:
    """Which concepts gene ``name`` drives (attribution) and in which it is differentially expressed."""
    g = data.gene_index[name]

    def ranked(matrix: np.ndarray | None, sign: int) -> list[dict[str, Any]] | None:
        if matrix is None:
            return None
        row = matrix[g] * sign
        order = np.argsort(-row, kind="stable")[:20]
        return [
            {"concept": int(j), "score": float(matrix[g, j]), "label": data.label(int(j))} for j in order if row[j] > 0
        ]

    cells = data.gene_values(name)[0]
    attribution = None if data.token.attribution_is_ranking else data.attribution
    return {
        "gene": name,
        "n_expressing": int(cells.size),
        "n_cells": data.n_cells,
        "drives": ranked(attribution, 1),
        "represses": ranked(attribution, -1),
        "de": ranked(data.de, 1),
        "tokens": None if data.token.genes is None else _gene_token_concepts(data, g),
    }


def _gene_token_concepts(data: ConceptResults, g: int) -> dict[str, Any]:
    """A token run's concepts that gene ``g``'s token activates most (mean over the cells where it is present)."""
    row = np.nan_to_num(data.token.genes[g], nan=-np.inf)
    order = np.argsort(-row, kind="stable")[:20]
    cells = None if data.token.gene_cells is None else int(data.token.gene_cells[g])
    return {
        "layer": _scalar(data.params.get("layer")),
        "n_cells": cells,
        "concepts": [{"concept": int(j), "score": float(row[j]), "label": data.label(int(j))}
                     for j in order if np.isfinite(row[j]) and row[j] > 0],
    }  # fmt: skip


def cell_type(data: ConceptResults, name: str) -> dict[str, Any]:
    """Which concepts fire in cell type ``name``: fraction of its cells, and lift over all cells."""
    t = list(data.cell_types.categories).index(name)
    size = int(data.type_sizes[t])
    frac = data.type_counts[t] / max(size, 1)
    overall = np.diff(data.acts_csc.indptr) / data.n_cells
    lift = np.divide(frac, overall, out=np.zeros_like(frac), where=overall > 0)
    order = np.argsort(-(frac * np.minimum(lift, 50)), kind="stable")[:40]
    rows = [
        {
            "concept": int(j),
            "label": data.label(int(j)),
            "fraction": float(frac[j]),
            "overall": float(overall[j]),
            "lift": float(lift[j]),
        }
        for j in order
        if frac[j] > 0
    ]
    return {"cell_type": name, "n_cells": size, "concepts": rows}


def cell_types(data: ConceptResults) -> list[dict[str, Any]] | None:
    """Cell types and their sizes (``None`` when the run's ``labels_key`` column is absent)."""
    if data.cell_types is None:
        return None
    return [
        {"cell_type": str(name), "n_cells": int(n)}
        for name, n in zip(data.cell_types.categories, data.type_sizes, strict=True)
    ]


def search_genes(data: ConceptResults, query: str, limit: int = 50) -> list[str]:
    """Gene names containing ``query`` (case-insensitive), prefix matches first."""
    q = query.strip().lower()
    if not q:
        return [str(g) for g in data.genes[:limit]]
    lower = np.char.lower(data.genes)
    prefix = [str(g) for g, low in zip(data.genes, lower, strict=True) if low.startswith(q)]
    inner = [str(g) for g, low in zip(data.genes, lower, strict=True) if q in low and not low.startswith(q)]
    return (prefix + inner)[:limit]
