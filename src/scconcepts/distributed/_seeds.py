"""The consensus SAE's seed runs on Dask workers, one seed per task."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from scconcepts.distributed._chunks import map_chunks
from scconcepts.sae._config import SAEConfig
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
