"""Read a results folder once and answer the explorer's questions about concepts, neurons, genes and cell types."""

from __future__ import annotations

import logging
from functools import cached_property
from pathlib import Path
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from scconcepts import _keys
from scconcepts._errors import InputError
from scconcepts.app._decoder import read_decoder
from scconcepts.app._expression import Block, gene_column, read_expression
from scconcepts.app._terms import all_terms, concept_rows, coverage, read_enrichment
from scconcepts.app._token_data import read_token_data
from scconcepts.results import open_results_h5ad, read_manifest, reading
from scconcepts.stats import TypeShares, type_shares

logger = logging.getLogger(__name__)

N_BINS = 30
N_TOP = 15
#: Attributed genes per concept that the catalogue's search looks at (the table shows the first three).
N_SEARCH_GENES = 50
#: Most cells the map shows: above, a fixed uniform sample of them is drawn (statistics still use every cell).
MAX_POINTS = 200_000
#: Cells read at a time when the expression matrix is first read (a gene page).
EXPRESSION_CHUNK = 100_000


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-safe records (NaN -> None, numpy scalars -> Python)."""
    out = []
    for row in frame.to_dict(orient="records"):
        out.append({k: _scalar(v) for k, v in row.items()})
    return out


def _scalar(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def histogram(values: np.ndarray, n_zero: int = 0) -> dict[str, Any]:
    """Histogram of ``values`` in :data:`N_BINS` bins, with the count of cells left out as zero."""
    if values.size == 0:
        return {"edges": [], "counts": [], "zeros": int(n_zero)}
    counts, edges = np.histogram(values, bins=N_BINS)
    return {"edges": edges.astype(float).tolist(), "counts": counts.astype(int).tolist(), "zeros": int(n_zero)}


class ConceptResults:
    """In-memory view of a results folder for the explorer and the report.

    Only the 2-D map, the activations and the concept table are required; the cell types, the
    embedding, attribution, differential expression, enrichment and the SAE decoder are optional and
    reported as ``None`` ("not computed") when absent.

    Parameters
    ----------
    folder
        A results folder written by ``scconcepts run``.
    key
        Stem of the concept keys (``X_<key>``, ``uns[<key>]``...).

    """

    def __init__(self, folder: str | Path, *, key: str = _keys.DEFAULT_KEY) -> None:
        self.folder = Path(folder).resolve()
        self.manifest = read_manifest(self.folder)
        with reading(self.folder):  # one state of the folder, never half of a commit
            adata = open_results_h5ad(self.folder, backed="r")  # the expression matrix stays on disk
            try:
                self._load(adata, key)
            finally:
                adata.file.close()

    def _load(self, adata: ad.AnnData, key: str) -> None:
        act_key, uns_key = _keys.activations_key(key), _keys.params_key(key)
        if "X_umap" not in adata.obsm:
            raise InputError(f"{self.folder} has no obsm['X_umap']; rerun `scconcepts run` to compute the map")
        if act_key not in adata.obsm or uns_key not in adata.uns:
            raise InputError(f"{self.folder} has no concepts ({act_key}); rerun `scconcepts run`")
        self.umap = np.ascontiguousarray(np.asarray(adata.obsm["X_umap"])[:, :2], dtype=np.float32)
        self._choose_points(self.umap.shape[0])
        acts = adata.obsm[act_key]
        self.acts = sp.csr_matrix(acts, dtype=np.float32)
        self.acts.eliminate_zeros()
        self.acts_csc = self.acts.tocsc()
        self.n_cells, self.n_concepts = self.acts.shape
        info = adata.uns[uns_key]
        self.params = dict(info.get("params", {}))
        self.metrics = dict(info.get("metrics", {}))
        self.enrichment_params = dict(info.get("enrichment_params", {}))
        self.faithfulness_params = dict(info.get("faithfulness", {}))  # n_genes, n_random... of the fall_* columns
        table = info.get("table")
        if not isinstance(table, pd.DataFrame):
            table = pd.DataFrame(index=[str(j) for j in range(self.n_concepts)])
        table = table.copy()
        table.index = table.index.astype(int)
        self.table = table.reindex(range(self.n_concepts))
        self.obs = adata.obs.copy()
        self.obs_names = np.asarray(adata.obs_names)
        #: obs column of cell types: the run's ``labels_key`` (e.g. ``--labels-key bulk_labels``), else ``cell_type``
        self.labels_key = _keys.labels_key_of(self.params)
        ct = self.obs[self.labels_key] if self.labels_key in self.obs else None
        self.cell_types: pd.Categorical | None = pd.Categorical(ct.astype(str)) if ct is not None else None
        use_rep = self.params.get("use_rep") or _keys.embedding_key(str(self.params.get("model", "")))
        self.embedding_key = use_rep if use_rep in adata.obsm else None
        self.embedding = (
            np.ascontiguousarray(np.asarray(adata.obsm[use_rep]), dtype=np.float32) if self.embedding_key else None
        )
        self.genes = np.asarray(adata.var_names).astype(str)
        self.gene_index = {g: i for i, g in enumerate(self.genes)}
        self.attribution = self._varm(adata, _keys.attribution_key(key))
        self.attribution_padj = self._varm(adata, _keys.attribution_padj_key(key))
        self.de = self._varm(adata, _keys.de_key(key))
        enr = adata.uns.get(_keys.enrichment_key(key))
        self.enrichment = read_enrichment(enr) if isinstance(enr, pd.DataFrame) and len(enr) else None
        self.decoder = read_decoder(self.folder, self.n_concepts)
        self.token = read_token_data(adata, key, self.params, self.folder, self.n_concepts)
        logger.info("explorer data: %d cells, %d concepts from %s", self.n_cells, self.n_concepts, self.folder)

    def _choose_points(self, n_cells: int) -> None:
        """The cells the map shows: all, or above :data:`MAX_POINTS` a fixed uniform sample (logged)."""
        self.shown: np.ndarray | None = None
        self._position: np.ndarray | None = None
        if n_cells <= MAX_POINTS:
            return
        self.shown = np.sort(np.random.default_rng(0).choice(n_cells, size=MAX_POINTS, replace=False))
        self._position = np.full(n_cells, -1, dtype=np.int64)
        self._position[self.shown] = np.arange(MAX_POINTS)
        logger.info("the map shows a uniform sample of %d of the %d cells; statistics use every cell", MAX_POINTS,
                    n_cells)  # fmt: skip

    @property
    def map_points(self) -> np.ndarray:
        """Map coordinates of the cells the map shows (:attr:`shown`, or every cell), float32 (n x 2)."""
        return self.umap if self.shown is None else self.umap[self.shown]

    def on_map(self, cells: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``cells`` that the map shows, as positions among :attr:`map_points`, with their values (order kept)."""
        if self._position is None:
            return cells, values
        position = self._position[cells]
        keep = position >= 0
        return position[keep].astype(np.uint32), values[keep]

    def _varm(self, adata: ad.AnnData, name: str) -> np.ndarray | None:
        if name not in adata.varm:
            return None
        arr = np.asarray(adata.varm[name], dtype=np.float32)
        return arr if arr.shape == (len(self.genes), self.n_concepts) else None

    # ---------------------------------------------------------------- identifiers
    def has_concept(self, cid: int) -> bool:
        """Whether ``cid`` is a concept id of this folder."""
        return 0 <= cid < self.n_concepts

    def has_neuron(self, dim: int) -> bool:
        """Whether ``dim`` is a dimension of the stored embedding."""
        return self.embedding is not None and 0 <= dim < self.embedding.shape[1]

    # ---------------------------------------------------------------- activations
    def concept_values(self, cid: int) -> tuple[np.ndarray, np.ndarray]:
        """Cells that activate concept ``cid`` and their activations, ascending (strongest last)."""
        lo, hi = self.acts_csc.indptr[cid], self.acts_csc.indptr[cid + 1]
        idx, vals = self.acts_csc.indices[lo:hi], self.acts_csc.data[lo:hi]
        order = np.argsort(vals, kind="stable")
        return idx[order].astype(np.uint32), vals[order].astype(np.float32)

    def neuron_values(self, dim: int) -> tuple[np.ndarray, np.ndarray]:
        """All cells and their value on embedding dimension ``dim``, ascending."""
        col = self.embedding[:, dim]
        order = np.argsort(col, kind="stable")
        return order.astype(np.uint32), col[order].astype(np.float32)

    # ---------------------------------------------------------------- cell types
    @cached_property
    def type_counts(self) -> np.ndarray | None:
        """Cell types x concepts: number of cells of each type that activate each concept."""
        if self.cell_types is None:
            return None
        codes = self.cell_types.codes
        onehot = sp.csr_matrix(
            (np.ones(self.n_cells, dtype=np.float32), (codes, np.arange(self.n_cells))),
            shape=(len(self.cell_types.categories), self.n_cells),
        )
        binary = self.acts.copy()
        binary.data[:] = 1.0
        return np.asarray((onehot @ binary).todense())

    @cached_property
    def type_sizes(self) -> np.ndarray | None:
        """Number of cells of each type."""
        if self.cell_types is None:
            return None
        return np.bincount(self.cell_types.codes, minlength=len(self.cell_types.categories))

    def composition(self, cells: np.ndarray) -> list[dict[str, Any]] | None:
        """Share of each cell type among ``cells`` against its share among all cells."""
        if self.cell_types is None:
            return None
        n_types = len(self.cell_types.categories)
        counts = np.bincount(self.cell_types.codes[cells], minlength=n_types)
        share = counts / max(cells.size, 1)
        background = self.type_sizes / self.n_cells
        rows = [
            {"cell_type": str(name), "count": int(c), "share": float(s), "background": float(b)}
            for name, c, s, b in zip(self.cell_types.categories, counts, share, background, strict=True)
        ]
        return sorted(rows, key=lambda r: -r["share"])

    @cached_property
    def shares(self) -> TypeShares | None:
        """Cell-type shares of every concept (:func:`scconcepts.stats.type_shares`, the concept table's definition)."""
        if self.cell_types is None:
            return None
        return type_shares(self.acts, self.cell_types)

    def top_types(self, cid: int, n: int = 2) -> list[dict[str, Any]]:
        """The ``n`` cell types with the largest shares of a concept (:func:`scconcepts.stats.type_shares`)."""
        if self.shares is None:
            row = self.table.loc[cid]
            top = row.get("top_cell_type")
            if isinstance(top, str) and top:
                return [{"cell_type": top, "share": _scalar(row.get("top_cell_type_share"))}]
            return []
        ranked = self.shares.frame(cid).head(n)
        return [{"cell_type": str(name), "share": float(s)} for name, s in ranked["share"].items() if s > 0]

    def concept_composition(self, cid: int) -> list[dict[str, Any]] | None:
        """A concept's activation mass per cell type against the type's share of cells, ranked by lift.

        ``share`` is the type's share of the concept's activation mass and ``background`` its share of
        all cells; rows come in the order of :func:`scconcepts.stats.type_shares` (the catalogue's).
        """
        if self.shares is None:
            return None
        frame = self.shares.frame(cid)
        return [
            {"cell_type": str(name), "share": float(r.mass_share), "background": float(r.cell_share),
             "lift": float(r.lift), "type_share": float(r.share)}
            for name, r in frame.iterrows()
        ]  # fmt: skip

    # ---------------------------------------------------------------- cells
    def cell_rows(self, cells: np.ndarray, values: np.ndarray) -> list[dict[str, Any]]:
        """Metadata of ``cells`` (name, value, obs columns) as JSON-safe rows."""
        cols = list(self.obs.columns[:8])
        sub = self.obs.iloc[cells][cols]
        rows = []
        for i, (cell, value) in enumerate(zip(cells, values, strict=True)):
            meta = {c: _meta(sub.iat[i, j]) for j, c in enumerate(cols)}
            rows.append({"index": int(cell), "cell": str(self.obs_names[cell]), "value": float(value), "obs": meta})
        return rows

    # ---------------------------------------------------------------- genes
    def top_genes(self, matrix: np.ndarray | None, cid: int, n: int = N_TOP, sign: int = 1) -> list[dict[str, Any]]:
        """Genes with the largest (``sign=1``) or most negative (``sign=-1``) scores for a concept."""
        if matrix is None:
            return []
        col = matrix[:, cid] * sign
        n = min(n, col.size)
        idx = np.argpartition(-col, n - 1)[:n]
        idx = idx[np.argsort(-col[idx], kind="stable")]
        return [{"gene": str(self.genes[g]), "score": float(matrix[g, cid])} for g in idx if col[g] > 0]

    @cached_property
    def catalogue_genes(self) -> list[list[str]]:
        """The three top positively attributed genes of each concept."""
        if self.attribution is None:
            return [[] for _ in range(self.n_concepts)]
        n = min(3, len(self.genes))
        idx = np.argsort(-self.attribution, axis=0, kind="stable")[:n]
        return [[str(self.genes[g]) for g in idx[:, j]] for j in range(self.n_concepts)]

    @cached_property
    def search_genes(self) -> list[list[str]]:
        """The :data:`N_SEARCH_GENES` top positively attributed genes of each concept, best first (for search)."""
        if self.attribution is None:
            return [[] for _ in range(self.n_concepts)]
        n = min(N_SEARCH_GENES, len(self.genes))
        idx = np.argsort(-self.attribution, axis=0, kind="stable")[:n]
        positive = np.take_along_axis(self.attribution, idx, axis=0) > 0
        return [[str(self.genes[g]) for g, ok in zip(idx[:, j], positive[:, j], strict=True) if ok]
                for j in range(self.n_concepts)]  # fmt: skip

    @cached_property
    def search_terms(self) -> list[list[str]]:
        """All terms of each concept (:attr:`terms`, the one definition), best first (for search)."""
        out: list[list[str]] = [[] for _ in range(self.n_concepts)]
        for cid, group in self.terms.groupby("concept", sort=False):
            if 0 <= cid < self.n_concepts:
                out[cid] = list(dict.fromkeys(str(t) for t in group["term"]))
        return out

    def gene_values(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Cells expressing gene ``name`` and their log-normalised expression, ascending (strongest last).

        Counts are scaled to 10,000 per cell and ``log1p``-transformed (values that are not counts are
        shown as stored). The expression matrix is read from disk on the first call.
        """
        return gene_column(self._expression, self.gene_index[name])

    @cached_property
    def _expression(self) -> list[Block]:
        """The log-normalised expression in blocks of :data:`EXPRESSION_CHUNK` cells (:func:`read_expression`)."""
        return read_expression(self.folder, self.n_cells, len(self.genes), EXPRESSION_CHUNK)

    @cached_property
    def terms(self) -> pd.DataFrame:
        """Every concept's terms, best first.

        :func:`~scconcepts.genesets.concept_terms`: enriched in the attribution ranking, significant, kept by elim.
        """
        return all_terms(self.enrichment)

    @cached_property
    def term_coverage(self) -> dict[str, Any] | None:
        """How many enriched concepts have a term (the figure of the log, ``info`` and ``metrics.json``)."""
        return None if self.enrichment is None else coverage(self.enrichment, self.enrichment_params)

    @cached_property
    def catalogue_terms(self) -> list[list[str]]:
        """The two best terms of each concept (:attr:`terms`)."""
        out: list[list[str]] = [[] for _ in range(self.n_concepts)]
        for cid, group in self.terms.groupby("concept", sort=False):
            if 0 <= cid < self.n_concepts:
                out[cid] = [str(t) for t in group["term"].head(2)]
        return out

    def enrichment_rows(self, cid: int, limit: int = 60) -> list[dict[str, Any]] | None:
        """Enrichment rows of a concept, best first.

        Each row has its ranking, sign (enriched / depleted), elim flag and ``is_term`` (counts as one of
        the concept's terms).
        """
        if self.enrichment is None:
            return None
        return _records(concept_rows(self.enrichment, self.terms, cid, limit))

    # ---------------------------------------------------------------- neighbours
    def cosine_neighbours(self, cid: int, n: int = 10) -> list[dict[str, Any]] | None:
        """Concepts whose decoder rows are closest to that of ``cid`` (cosine similarity)."""
        if self.decoder is None:
            return None
        sims = self.decoder @ self.decoder[cid]
        sims[cid] = -np.inf
        order = np.argsort(-sims, kind="stable")[:n]
        return [{"concept": int(j), "score": float(sims[j]), "label": self.label(j)} for j in order]

    def coactivation_neighbours(self, cid: int, n: int = 10) -> list[dict[str, Any]]:
        """Concepts that fire in the same cells as ``cid`` (Jaccard index of active cells)."""
        cells = self.acts_csc.indices[self.acts_csc.indptr[cid] : self.acts_csc.indptr[cid + 1]]
        if cells.size == 0:
            return []
        sub = self.acts[cells]
        both = np.bincount(sub.indices, minlength=self.n_concepts).astype(np.float64)
        sizes = np.diff(self.acts_csc.indptr).astype(np.float64)
        jaccard = both / np.maximum(sizes + cells.size - both, 1)
        jaccard[cid] = -1
        order = np.argsort(-jaccard, kind="stable")[:n]
        return [{"concept": int(j), "score": float(jaccard[j]), "label": self.label(j)} for j in order if both[j] > 0]

    def label(self, cid: int) -> str:
        """Automatic label of a concept ("" when none)."""
        value = self.table["label"].iat[cid] if "label" in self.table else None
        return value if isinstance(value, str) else ""


def _meta(value: Any) -> Any:
    value = _scalar(value)
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    return str(value)
