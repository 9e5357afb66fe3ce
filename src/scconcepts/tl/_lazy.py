"""The steps that read counts, on cells whose matrix stays on disk (:func:`scconcepts.ds.read` with ``backed=True``).

- embedding: chunk by chunk (on dask workers each worker reads its chunks from the file itself);
- attribution: only the cells it perturbs are read, plus a uniform sample of :data:`SAMPLE_CELLS` cells from
  which the non-activating baselines and the Wilcoxon DE baseline are taken;
- explanation score: only the held-out cells.
Everything else (SAE, map, enrichment, labels) works on the embedding and the activations, in memory.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from anndata import AnnData

from scconcepts._errors import InputError
from scconcepts._keys import activations_key, params_key
from scconcepts.ds._lazy import file_rows, read_rows, row_chunks, source_of
from scconcepts.models._base import Encoder

logger = logging.getLogger(__name__)

#: Cells of a lazily read matrix loaded besides the perturbed ones, for baselines and DE.
SAMPLE_CELLS = 50_000


def _chunk_adata(x: sp.csr_matrix, obs: pd.DataFrame, var_names: pd.Index) -> AnnData:
    chunk = AnnData(X=x, obs=obs)
    chunk.var_names = var_names
    return chunk


def _embed_file_part(part: tuple[tuple[str, str], int, int, pd.DataFrame], encoder: Encoder, var_names: pd.Index,
                     batch_size: int) -> np.ndarray:  # fmt: skip
    source, start, stop, obs = part
    chunk = _chunk_adata(file_rows(source, start, stop), obs, var_names)
    return encoder.embed_rows(encoder.expression(chunk), encoder.context(chunk), batch_size=batch_size)


def embed_lazy(encoder: Encoder, adata: AnnData, *, client: Any = None, batch_size: int = 1024) -> np.ndarray:
    """Embed a lazily read AnnData chunk by chunk; equals :meth:`Encoder.embed` on the loaded matrix."""
    from scconcepts._progress import progress

    source = source_of(adata)
    if client is not None and source is not None:
        from scconcepts.distributed import map_chunks

        parts, start = [], 0
        for size in adata.X.chunks[0]:
            parts.append((source, start, start + size, adata.obs.iloc[start : start + size]))
            start += size
        logger.info("embedding %d cells on workers that read their %d chunks from %s", adata.n_obs, len(parts),
                    source[0])  # fmt: skip
        blocks = map_chunks(_embed_file_part, parts, encoder, adata.var_names, batch_size, client=client,
                            desc="embedding chunks")  # fmt: skip
        return np.concatenate(blocks)
    blocks = []
    chunks = progress(row_chunks(adata), total=len(adata.X.chunks[0]), desc=f"embedding with {encoder.name}")
    for start, x in chunks:
        chunk = _chunk_adata(x, adata.obs.iloc[start : start + x.shape[0]], adata.var_names)
        blocks.append(encoder.embed_rows(encoder.expression(chunk), encoder.context(chunk), batch_size=batch_size))
    return np.concatenate(blocks)


def _subset(adata: AnnData, rows: np.ndarray, **extra: Any) -> AnnData:
    """An in-memory AnnData of ``rows`` (sorted): counts read from disk, obs and obsm subset, varm kept."""
    sub = AnnData(
        X=read_rows(adata, rows),
        obs=adata.obs.iloc[rows],
        var=adata.var,
        obsm={name: value[rows] for name, value in adata.obsm.items()},
        varm=dict(adata.varm),
        **extra,
    )
    return sub


def attribute_lazy(adata: AnnData, *, key: str, n_cells: int = 50, cells: str = "top",
                   concepts: Any = None, seed: int = 0, **options: Any) -> None:  # fmt: skip
    """:func:`scconcepts.tl.attribute` on a lazily read AnnData, reading only the cells it needs.

    The perturbed cells are chosen from the activations (in memory) exactly as in memory; they and a
    uniform sample of :data:`SAMPLE_CELLS` cells are read from disk. The non-activating baseline of each
    concept and the DE baseline come from those cells instead of all cells (logged).
    """
    from scconcepts.attribution import select_cells
    from scconcepts.tl._attribute import attribute

    if activations_key(key) not in adata.obsm:
        raise InputError(f"obsm[{activations_key(key)!r}] is missing: train the SAE first (tl.train_sae)")
    activations = sp.csr_matrix(adata.obsm[activations_key(key)])
    ids = np.arange(activations.shape[1]) if concepts is None else np.unique(np.asarray(list(concepts)))
    chosen = select_cells(activations, ids, n_cells=int(n_cells), how=cells, seed=seed)
    rng = np.random.default_rng(seed)
    sample = rng.choice(adata.n_obs, size=min(SAMPLE_CELLS, adata.n_obs), replace=False)
    rows = np.unique(np.concatenate([sample, *chosen]).astype(np.int64))
    logger.info(
        "attribution on cells read lazily: the %d perturbed cells and a sample of %d cells (%d read from disk); "
        "baselines and DE are taken from them, not from all %d cells",
        int(np.unique(np.concatenate(chosen)).size) if chosen else 0, sample.size, rows.size, adata.n_obs,
    )  # fmt: skip
    sub = _subset(adata, rows)
    attribute(sub, key=key, n_cells=n_cells, cells=cells, concepts=concepts, seed=seed, **options)
    for name, value in sub.varm.items():
        adata.varm[name] = value
    for name, value in sub.uns.items():
        adata.uns[name] = value
    adata.uns[f"{key}_attribution"]["params"]["cells_read"] = int(rows.size)


def explanation_lazy(adata: AnnData, *, key: str, seed: int = 0, **options: Any) -> pd.DataFrame:
    """:func:`scconcepts.tl.explanation_score` on a lazily read AnnData, reading the held-out cells only.

    With ``source="de"`` a sample of :data:`SAMPLE_CELLS` training cells is read as well.
    """
    from scconcepts.tl._explanation import explanation_score, held_out_rows

    train_rows, test_rows, _ = held_out_rows(adata, key)
    rng = np.random.default_rng(seed)
    train_sample = rng.choice(train_rows, size=min(SAMPLE_CELLS, train_rows.size), replace=False)
    rows = np.union1d(test_rows, train_sample if options.get("source") == "de" else train_sample[:0])
    sub = _subset(adata, rows, uns={params_key(key): adata.uns[params_key(key)]})
    frame = explanation_score(sub, key=key, seed=seed, **options)
    adata.uns[params_key(key)] = sub.uns[params_key(key)]
    return frame
