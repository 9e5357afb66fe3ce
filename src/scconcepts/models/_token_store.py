"""A disk-backed store of per-token states: one row per gene token, with its cell and its gene, in a folder.

The folder holds ``states.f32`` (tokens x dim, float32, row-major), ``cells.i64`` (each token's cell, an index
into the cells the states were read from, ascending), ``genes.i32`` (each token's gene, an index into
``gene_names``), ``cls.npy`` (cells x dim ``<cls>`` states, for models whose input has ``<cls>``) and
``store.json`` (shapes, gene names and how the states were read). The writer appends chunk by chunk, so only one
chunk of cells is ever in memory; the reader maps the files (``numpy.memmap``), so training reads the rows it needs.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from scconcepts._errors import InputError

STATES = "states.f32"
CELLS = "cells.i64"
GENES = "genes.i32"
CLS = "cls.npy"
META = "store.json"
FORMAT = "scconcepts-token-store-1"


@dataclass
class TokenStore:
    """Per-token states read back from a store folder (memory-mapped; nothing is loaded until it is read)."""

    folder: Path
    #: ``tokens x dim`` float32 states.
    states: np.ndarray
    #: Each token's cell (index into the cells the store was read from), ascending.
    cells: np.ndarray
    #: Each token's gene (index into :attr:`gene_names`).
    genes: np.ndarray
    #: Names of the genes the model read (the encoder's genes).
    gene_names: list[str]
    #: Cells the states were read from.
    n_cells: int
    #: ``cells x dim`` ``<cls>`` states, or ``None`` for inputs without ``<cls>``.
    cls: np.ndarray | None = None
    #: How the states were read: ``model``, ``layer``, ``max_tokens_per_cell``, ``seed``, ``cell_names``.
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def n_tokens(self) -> int:
        """Tokens stored."""
        return int(self.states.shape[0])

    @property
    def dim(self) -> int:
        """Width of a token state."""
        return int(self.states.shape[1])

    def tokens_per_cell(self) -> np.ndarray:
        """Number of stored tokens of each cell."""
        return np.bincount(np.asarray(self.cells), minlength=self.n_cells)

    def __repr__(self) -> str:
        layer = self.info.get("layer", "?")
        return f"TokenStore({self.n_tokens} tokens x {self.dim} of {self.n_cells} cells, {layer}, at {self.folder})"


def open_store(folder: str | Path) -> TokenStore:
    """Map a store folder written by :class:`TokenStoreWriter`; refuses a folder that is not one, in one line."""
    folder = Path(folder)
    meta_path = folder / META
    if not meta_path.is_file():
        raise InputError(f"{folder} is not a token store ({META} is missing); run scconcepts.tl.token_activations")
    meta = json.loads(meta_path.read_text())
    if meta.get("format") != FORMAT:
        raise InputError(f"{folder} holds token store format {meta.get('format')!r}; expected {FORMAT!r}")
    n_tokens, dim, n_cells = int(meta["n_tokens"]), int(meta["dim"]), int(meta["n_cells"])
    expected = {STATES: 4 * n_tokens * dim, CELLS: 8 * n_tokens, GENES: 4 * n_tokens}
    for name, size in expected.items():
        path = folder / name
        if not path.is_file() or path.stat().st_size != size:
            raise InputError(f"token store {folder} is damaged: {name} should hold {size} bytes")
    if n_tokens == 0:
        raise InputError(f"token store {folder} holds no tokens (no cell expressed a gene the model reads)")

    def mapped(name: str, dtype: type, shape: tuple[int, ...]) -> np.ndarray:
        return np.memmap(folder / name, dtype=dtype, mode="r", shape=shape)

    cls = np.load(folder / CLS, mmap_mode="r") if (folder / CLS).is_file() else None
    return TokenStore(
        folder=folder,
        states=mapped(STATES, np.float32, (n_tokens, dim)),
        cells=mapped(CELLS, np.int64, (n_tokens,)),
        genes=mapped(GENES, np.int32, (n_tokens,)),
        gene_names=[str(g) for g in meta["gene_names"]],
        n_cells=n_cells,
        cls=cls,
        info=dict(meta.get("info", {})),
    )


class TokenStoreWriter:
    """Append per-token states chunk by chunk (cells in ascending order), then :meth:`close` into a store.

    Parameters
    ----------
    folder
        Folder to create (refused if it holds a store or other files, unless ``overwrite``).
    dim
        Width of a token state.
    n_cells
        Cells the states are read from.
    gene_names
        Names of the genes the token gene indices point into.
    with_cls
        Whether each cell's ``<cls>`` state is kept (``cls.npy``).
    info
        What to record about how the states were read.
    overwrite
        Replace an existing folder.

    """

    def __init__(
        self,
        folder: str | Path,
        *,
        dim: int,
        n_cells: int,
        gene_names: list[str],
        with_cls: bool,
        info: dict[str, Any] | None = None,
        overwrite: bool = False,
    ) -> None:
        self.folder = Path(folder)
        if self.folder.exists() and any(self.folder.iterdir()):
            if not overwrite:
                raise InputError(f"{self.folder} is not empty; choose another folder for the token store")
            shutil.rmtree(self.folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.dim, self.n_cells, self.gene_names, self.info = int(dim), int(n_cells), list(gene_names), info or {}
        self.n_tokens = 0
        self._last_cell = -1
        self._files = {name: open(self.folder / name, "wb") for name in (STATES, CELLS, GENES)}
        self._cls = (
            np.lib.format.open_memmap(self.folder / CLS, mode="w+", dtype=np.float32, shape=(self.n_cells, self.dim))
            if with_cls
            else None
        )

    def add(self, cells: np.ndarray, genes: np.ndarray, states: np.ndarray) -> None:
        """Append tokens (sorted by cell, every cell after those already written)."""
        cells = np.asarray(cells, dtype=np.int64)
        if cells.size == 0:
            return
        if cells[0] <= self._last_cell or (np.diff(cells) < 0).any():
            raise ValueError("tokens must come in ascending cell order, each cell in one chunk")
        states = np.ascontiguousarray(states, dtype=np.float32)
        if states.shape != (cells.size, self.dim):
            raise ValueError(f"states of shape {states.shape} for {cells.size} tokens of width {self.dim}")
        self._files[STATES].write(states.tobytes())
        self._files[CELLS].write(cells.tobytes())
        self._files[GENES].write(np.asarray(genes, dtype=np.int32).tobytes())
        self.n_tokens += cells.size
        self._last_cell = int(cells[-1])

    def add_cls(self, cells: np.ndarray, states: np.ndarray) -> None:
        """Write the ``<cls>`` states of ``cells``."""
        if self._cls is not None:
            self._cls[np.asarray(cells, dtype=np.int64)] = states

    def close(self) -> TokenStore:
        """Flush the files, write ``store.json`` and open the store."""
        for handle in self._files.values():
            handle.close()
        if self._cls is not None:
            self._cls.flush()
            del self._cls
        meta = {
            "format": FORMAT,
            "n_tokens": self.n_tokens,
            "dim": self.dim,
            "n_cells": self.n_cells,
            "gene_names": self.gene_names,
            "info": self.info,
        }
        (self.folder / META).write_text(json.dumps(meta))
        return open_store(self.folder)


def join_stores(
    parts: list[tuple[int, Path]],
    folder: str | Path,
    *,
    n_cells: int,
    gene_names: list[str],
    info: dict[str, Any] | None = None,
    overwrite: bool = False,
    block_rows: int = 65_536,
) -> TokenStore:
    """Join part stores, each of consecutive cells starting at its ``start``, in cell order into one store.

    The parts are read in blocks of whole cells (at least ``block_rows`` tokens), so memory stays one block. A
    part may hold no tokens (its cells expressed none of the model's genes); it only needs its ``store.json``.
    """
    metas = [json.loads((Path(path) / META).read_text()) for _, path in parts]
    dim = int(metas[0]["dim"])
    with_cls = (Path(parts[0][1]) / CLS).is_file()
    writer = TokenStoreWriter(folder, dim=dim, n_cells=n_cells, gene_names=gene_names, with_cls=with_cls, info=info,
                              overwrite=overwrite)  # fmt: skip
    for (start, path), meta in zip(parts, metas, strict=True):
        path, n_tokens = Path(path), int(meta["n_tokens"])
        if n_tokens:
            states = np.memmap(path / STATES, dtype=np.float32, mode="r", shape=(n_tokens, dim))
            cells = np.memmap(path / CELLS, dtype=np.int64, mode="r", shape=(n_tokens,))
            genes = np.memmap(path / GENES, dtype=np.int32, mode="r", shape=(n_tokens,))
            begin = 0
            while begin < n_tokens:
                end = min(begin + block_rows, n_tokens)
                if end < n_tokens:  # to the end of the block's last cell: a cell is never split between blocks
                    end = int(np.searchsorted(cells, cells[end - 1], side="right"))
                writer.add(np.asarray(cells[begin:end]) + start, genes[begin:end], states[begin:end])
                begin = end
            del states, cells, genes
        if with_cls:
            cls = np.load(path / CLS, mmap_mode="r")
            writer.add_cls(np.arange(start, start + len(cls)), np.asarray(cls))
    return writer.close()
