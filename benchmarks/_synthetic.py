"""A synthetic results folder with planted structure, for the explorer's tests and benchmark.

Cells fall in ``n_types`` well-separated blobs on the 2-D map; concept ``j`` fires only in cell type
``j % n_types``; gene ``G{g}`` is expressed (counts in ``X``) mostly in type ``g % n_types``; gene
``G{j}`` carries the largest positive attribution of concept ``j``; the decoder row of concept ``2m + 1``
is a near copy of concept ``2m`` (so they are cosine neighbours); every concept has an enrichment term
``TERM:{j:05d}`` that passes the elim filter and one that does not; concepts 7, 17... have two more
terms that pass it (interferon signalling, response to interferon-beta).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from anndata import AnnData

from scconcepts.results import RESULTS_H5AD, SAE_DIR, new_results_folder
from scconcepts.stats import type_shares

logger = logging.getLogger(__name__)


def _activations(types: np.ndarray, n_types: int, n_concepts: int, k: int, rng: np.random.Generator) -> sp.csr_matrix:
    """Per cell, ``k`` draws among the concepts of its type; values grow with the draw rank."""
    n_cells = types.shape[0]
    per_type = [np.arange(t, n_concepts, n_types) for t in range(n_types)]
    width = min(len(c) for c in per_type)
    table = np.stack([c[:width] for c in per_type])  # n_types x width
    # skewed choice: low ranks of a type's concepts fire more often (frequencies differ between concepts)
    draws = np.minimum((rng.random((n_cells, k)) ** 2 * width).astype(np.int64), width - 1)
    cols = table[types[:, None], draws]
    vals = rng.exponential(1.0, size=(n_cells, k)).astype(np.float32) + 0.05
    rows = np.repeat(np.arange(n_cells), k)
    mat = sp.csr_matrix((vals.ravel(), (rows, cols.ravel())), shape=(n_cells, n_concepts), dtype=np.float32)
    mat.sum_duplicates()
    return mat


def _table(acts: sp.csr_matrix, type_names: np.ndarray, types: np.ndarray, labels: dict[int, str]) -> pd.DataFrame:
    n_concepts = acts.shape[1]
    csc = acts.tocsc()
    active = np.diff(csc.indptr)
    sums = np.asarray(csc.sum(axis=0)).ravel()
    shares = type_shares(acts, type_names[types])
    top_index = shares.top()
    top = [str(shares.types[t]) if t >= 0 else "" for t in top_index]
    share = [float(shares.share[t, j]) if t >= 0 else 0.0 for j, t in enumerate(top_index)]
    frame = pd.DataFrame(
        {
            "frequency": active / acts.shape[0],
            "mean_activation": np.divide(sums, np.maximum(active, 1)),
            "top_cell_type": top,
            "top_cell_type_share": share,
            "label": [labels.get(j, f"{top[j]} concept {j}") for j in range(n_concepts)],
        },
        index=[str(j) for j in range(n_concepts)],
    )
    return frame


def _enrichment(n_concepts: int) -> pd.DataFrame:
    rows = []
    for j in range(n_concepts):
        rows.append((j, "GO_BP", f"planted process {j}", f"TERM:{j:05d}", 5.0, 1e-6, 1e-4, "ulm", True))
        rows.append((j, "GO_BP", f"parent process {j}", f"TERM:{90000 + j:05d}", 3.0, 1e-3, 2e-2, "ulm", False))
        if j % 10 == 7:  # more terms than the catalogue shows (two): the third is found by search only
            rows.append((j, "GO_BP", f"type I interferon signaling {j}", f"TERM:{80000 + j:05d}", 4.0, 1e-5, 1e-3,
                         "ulm", True))  # fmt: skip
            rows.append((j, "GO_BP", f"response to interferon-beta {j}", f"TERM:{70000 + j:05d}", 3.5, 1e-4, 1e-2,
                         "ulm", True))  # fmt: skip
    columns = ["concept", "source", "term", "term_id", "score", "pval", "padj", "method", "elim"]
    return pd.DataFrame(rows, columns=columns)


def _faithfulness(info: dict[str, Any], n_concepts: int) -> None:
    """Planted deletion falls: every fourth concept (0, 4, 8...) falls less from its attributed genes than its DE."""
    from scconcepts.stats._faithfulness import beats

    table = info["table"]
    ids = np.arange(n_concepts)
    table["fall_attributed"] = np.where(ids % 4 == 0, 0.1, 0.6)
    table["fall_de"] = 0.3
    table["fall_random"] = 0.05
    table["fall_random_sd"] = 0.02
    beats_de, beats_random = beats(table)
    table["faithful"] = beats_de & beats_random
    info["faithfulness"] = {"n_genes": 10, "n_cells": 50, "n_random": 10}


def _decoder(n_concepts: int, n_dims: int, rng: np.random.Generator) -> np.ndarray:
    dec = rng.normal(size=(n_concepts, n_dims)).astype(np.float32)
    for m in range(0, n_concepts - 1, 2):
        dec[m + 1] = dec[m] + 0.05 * rng.normal(size=n_dims).astype(np.float32)
    return dec / np.linalg.norm(dec, axis=1, keepdims=True)


def _write_sae(path: Path, decoder: np.ndarray, k: int) -> None:
    """Save a real :class:`~scconcepts.sae.TopKSAE` checkpoint whose decoder rows are ``decoder``."""
    import torch

    from scconcepts.sae import TopKSAE, save_sae

    sae = TopKSAE(decoder.shape[1], decoder.shape[0], k)
    with torch.no_grad():
        sae.W_dec.copy_(torch.from_numpy(decoder))
        sae.W_enc.copy_(torch.from_numpy(decoder))
    save_sae(sae, path)


def make_synthetic_results(
    out: str | Path,
    *,
    n_cells: int = 2000,
    n_concepts: int = 40,
    n_types: int = 5,
    n_dims: int = 16,
    n_genes: int = 120,
    k: int = 6,
    seed: int = 0,
    labels: dict[int, str] | None = None,
    with_cell_type: bool = True,
    labels_key: str = "cell_type",
    type_names: list[str] | None = None,
    gene_names: dict[int, str] | None = None,
    with_attribution: bool = True,
    with_enrichment: bool = True,
    with_sae: bool = True,
    overwrite: bool = False,
) -> Path:
    """Write a results folder with planted concepts (see the module docstring) and return its path.

    Parameters
    ----------
    out
        Destination folder (created through :func:`scconcepts.results.new_results_folder`).
    n_cells, n_concepts, n_types, n_dims, n_genes
        Sizes; ``n_genes`` must be at least ``n_concepts`` when attribution is written.
    k
        Concept draws per cell (at most ``k`` non-zero activations per cell).
    seed
        Random seed.
    labels
        Automatic labels to put in the concept table for some concept ids (others get a default).
    with_cell_type, with_attribution, with_enrichment, with_sae
        Leave out the cell types, the attribution/DE, the enrichment table or the SAE checkpoint.
    labels_key
        ``obs`` column holding the cell types, recorded as the run's ``labels_key``.
    type_names
        Names of the ``n_types`` cell types (default ``type A``, ``type B``...).
    gene_names
        Names for some gene indices (others are ``G{index}``).
    overwrite
        Replace an earlier synthetic folder at ``out``.

    """
    rng = np.random.default_rng(seed)
    types = rng.integers(0, n_types, size=n_cells)
    default_names = [f"type {chr(65 + t % 26)}{t // 26 or ''}" for t in range(n_types)]
    type_names = np.array(default_names if type_names is None else [str(name) for name in type_names])
    angles = 2 * np.pi * np.arange(n_types) / n_types
    centres = np.stack([np.cos(angles), np.sin(angles)], axis=1) * 10
    umap = (centres[types] + rng.normal(scale=1.5, size=(n_cells, 2))).astype(np.float32)
    acts = _activations(types, n_types, n_concepts, k, rng)
    emb = (rng.normal(size=(n_cells, n_dims)) + types[:, None] * 0.5).astype(np.float32)
    obs = pd.DataFrame(
        {"n_counts": rng.integers(500, 5000, size=n_cells).astype(np.float32)},
        index=pd.Index([f"cell_{i}" for i in range(n_cells)]),
    )
    if with_cell_type:
        obs[labels_key] = pd.Categorical(type_names[types])
    genes = pd.Index([(gene_names or {}).get(g, f"G{g}") for g in range(n_genes)])
    adata = AnnData(obs=obs, var=pd.DataFrame(index=genes))
    adata.obsm["X_umap"] = umap
    adata.obsm["X_scvi"] = emb
    adata.obsm["X_concepts"] = acts
    adata.uns["concepts"] = {
        "params": {
            "model": "scvi",
            "use_rep": "X_scvi",
            "k": k,
            "expansion": n_concepts // n_dims,
            "seed": seed,
            "n_concepts": n_concepts,
            "labels_key": labels_key if with_cell_type else "none",
        },
        "metrics": {"r2": 0.9, "l0": float(acts.getnnz(axis=1).mean()), "dead_fraction": 0.0},
        "table": _table(acts, type_names, types, labels or {}),
    }
    if with_attribution:
        attr = rng.normal(scale=0.1, size=(n_genes, n_concepts)).astype(np.float32)
        attr[np.arange(n_concepts) % n_genes, np.arange(n_concepts)] = 3.0  # planted driver G{j}
        attr[(np.arange(n_concepts) + 1) % n_genes, np.arange(n_concepts)] = -2.0  # planted repressor G{j+1}
        de = rng.normal(scale=0.5, size=(n_genes, n_concepts)).astype(np.float32)
        de[(np.arange(n_concepts) + 2) % n_genes, np.arange(n_concepts)] = 8.0  # planted DE gene G{j+2}
        adata.varm["concepts_attribution"] = attr
        adata.varm["concepts_de"] = de
        _faithfulness(adata.uns["concepts"], n_concepts)
    if with_enrichment:
        adata.uns["concepts_enrichment"] = _enrichment(n_concepts)
    # counts: gene G{g} is expressed mostly in cell type g % n_types (for the gene page's map)
    counts_rng = np.random.default_rng(seed + 1)
    rate = np.where((np.arange(n_genes)[None, :] % n_types) == types[:, None], 4.0, 0.05)
    adata.X = sp.csr_matrix(counts_rng.poisson(rate).astype(np.float32))
    info: dict[str, Any] = {"command": "synthetic", "n_cells": n_cells, "n_concepts": n_concepts}
    with new_results_folder(out, overwrite=overwrite, info=info) as tmp:
        adata.write_h5ad(tmp / RESULTS_H5AD)
        if with_sae:
            _write_sae(tmp / SAE_DIR, _decoder(n_concepts, n_dims, rng), k)
    logger.info("synthetic results folder: %d cells, %d concepts at %s", n_cells, n_concepts, out)
    return Path(out).resolve()
