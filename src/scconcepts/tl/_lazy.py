"""What the steps that read counts share on cells whose matrix stays on disk (``ds.read(..., backed=True)``).

Each such step reads only the cells it needs into memory (:func:`_subset`), and runs as in memory on them:

- embedding: chunk by chunk (:func:`scconcepts.models._chunked.embed_lazy`; on dask workers each worker reads its
  chunks from the file itself);
- attribution (:mod:`scconcepts.tl._attribute`): only the cells it perturbs, plus a uniform sample of
  :data:`SAMPLE_CELLS` cells from which the non-activating baselines and the Wilcoxon DE baseline are taken;
- explanation score (:mod:`scconcepts.tl._explanation`) and faithfulness: the held-out cells.
Everything else (SAE, map, enrichment, labels) works on the embedding and the activations, in memory.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from anndata import AnnData

from scconcepts.ds._lazy import read_rows

#: Cells of a lazily read matrix loaded besides the perturbed ones, for baselines and DE.
SAMPLE_CELLS = 50_000


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
