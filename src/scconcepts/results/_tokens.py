"""What a ``run --tokens`` folder holds about its gene tokens: the store's summary and each gene's cell count.

A token run keeps the transformer's gene-token states in ``tokens/`` (a token store,
:mod:`scconcepts.models._token_store`); ``info``, the explorer and the report read it through these functions,
which only read ``store.json`` and the index files (never the states).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

#: Folder of a results folder where ``run --tokens`` writes the token store (``cli._run_tokens.TOKENS_DIR``).
TOKEN_STORE_DIR = "tokens"


def is_token_run(params: dict[str, Any] | None) -> bool:
    """Whether a run's ``uns[<key>]["params"]`` (or its manifest) says its concepts were learnt on gene tokens."""
    return bool(params) and bool(params.get("tokens", False))


def _store_meta(folder: Path) -> dict[str, Any] | None:
    path = folder / TOKEN_STORE_DIR / "store.json"
    if not path.is_file():
        return None
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def _token_cells(folder: Path, meta: dict[str, Any]) -> np.ndarray | None:
    """Each stored token's cell (memory-mapped), ``None`` when the file does not match ``store.json``."""
    path = folder / TOKEN_STORE_DIR / "cells.i64"
    n_tokens = int(meta.get("n_tokens", -1))
    if not path.is_file() or path.stat().st_size != 8 * n_tokens:
        return None
    return np.memmap(path, dtype=np.int64, mode="r", shape=(n_tokens,)) if n_tokens else np.zeros(0, np.int64)


def token_store_summary(folder: str | Path) -> dict[str, Any] | None:
    """Model, layer, tokens stored, median tokens per cell and the sampling limit of a folder's token store.

    Parameters
    ----------
    folder
        A results folder written by ``scconcepts run --tokens``.

    Returns
    -------
    ``None`` when the folder has no readable token store; else a dict with ``model``, ``layer``, ``n_tokens``,
    ``n_cells``, ``dim``, ``median_tokens_per_cell`` (``None`` when the index file is unreadable),
    ``max_tokens_per_cell`` (``None``: every token kept) and ``store`` (the store's folder).

    """
    folder = Path(folder)
    meta = _store_meta(folder)
    if meta is None:
        return None
    info = meta.get("info") if isinstance(meta.get("info"), dict) else {}
    n_cells = int(meta.get("n_cells", 0))
    cells = _token_cells(folder, meta)
    median = None
    if cells is not None and n_cells > 0 and (cells.size == 0 or 0 <= int(cells.max()) < n_cells):
        median = float(np.median(np.bincount(np.asarray(cells), minlength=n_cells)))
    return {
        "model": info.get("model"),
        "layer": info.get("layer"),
        "n_tokens": int(meta.get("n_tokens", 0)),
        "n_cells": n_cells,
        "dim": meta.get("dim"),
        "median_tokens_per_cell": median,
        "max_tokens_per_cell": info.get("max_tokens_per_cell"),
        "store": str(folder / TOKEN_STORE_DIR),
    }


def token_gene_cells(folder: str | Path, var_names: Sequence[str]) -> np.ndarray | None:
    """Number of cells where each gene of ``var_names`` has a stored token (0: none), from the folder's store.

    A gene appears at most once in a cell's input, so this is the count of the gene's stored tokens: the cells
    behind its per-gene token activation (``varm["<key>_token_genes"]``). ``None`` when the folder has no
    readable store.
    """
    folder = Path(folder)
    meta = _store_meta(folder)
    names = meta.get("gene_names") if meta else None
    path = folder / TOKEN_STORE_DIR / "genes.i32"
    n_tokens = int(meta.get("n_tokens", -1)) if meta else -1
    if not isinstance(names, list) or not path.is_file() or path.stat().st_size != 4 * n_tokens:
        return None
    genes = np.memmap(path, dtype=np.int32, mode="r", shape=(n_tokens,)) if n_tokens else np.zeros(0, np.int32)
    if genes.size and (int(genes.min()) < 0 or int(genes.max()) >= len(names)):
        return None
    per_model_gene = np.bincount(np.asarray(genes), minlength=len(names))
    position = {str(name): i for i, name in enumerate(names)}
    out = np.zeros(len(var_names), dtype=np.int64)
    for i, gene in enumerate(var_names):
        j = position.get(str(gene))
        if j is not None:
            out[i] = per_model_gene[j]
    return out
