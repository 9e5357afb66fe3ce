"""SAE work on Dask workers: the consensus's seed runs (one seed per task) and concept encoding over cell chunks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from scconcepts.distributed._chunks import DEFAULT_CHUNK, SlicedParts, cell_chunks, map_chunks
from scconcepts.sae._config import SAEConfig
from scconcepts.sae._encode import encode_csr
from scconcepts.sae._seed_run import SeedRun, train_seed
from scconcepts.sae._train import Split


def _seed_part(seed: int, data: np.ndarray, config: SAEConfig, split: Split | None) -> SeedRun:
    return train_seed(data, config, seed, split)


def train_seeds_on_workers(
    data: Any, config: SAEConfig, seeds: Sequence[int], split: Split | None, *, client: Any
) -> list[SeedRun]:
    """:func:`~scconcepts.sae._seed_run.train_seed` for every seed on ``client``'s workers, in the seeds' order.

    The embedding (read as float32, as training reads it), the settings and the shared split are sent to each
    worker once; each seed is one task. A run depends only on its seed and these, so the runs equal those
    trained one after another in this process.
    """
    array = np.asarray(data, dtype=np.float32)
    return map_chunks(_seed_part, list(seeds), array, config, split, client=client, desc="seed runs")


def _encode_part(rows: np.ndarray, sae: Any, batch_size: int) -> sp.csr_matrix:
    return encode_csr(sae, rows, batch_size=batch_size)


def encode_on_workers(
    sae: Any, embedding: np.ndarray, *, client: Any, batch_size: int = 8192, chunk_size: int = DEFAULT_CHUNK
) -> sp.csr_matrix:
    """Concept activations of every cell (CSR), one chunk of cells per task; equals ``encode_csr``."""
    parts = SlicedParts(lambda rows: np.asarray(embedding[rows]), cell_chunks(embedding.shape[0], chunk_size))
    blocks = map_chunks(_encode_part, parts, sae, batch_size, client=client, desc="encoding chunks")
    return sp.vstack(blocks, format="csr", dtype=np.float32)
