"""Plant gene programs into real counts: one shared by half of every cell type, one in half of a single type.

A program is a set of genes whose counts are raised in the chosen cells by adding Poisson noise around a
few-fold increase: ``new = old + Poisson(old * (fold - 1) + floor)``. The expected count becomes
``fold * old + floor``; the ``floor`` lets genes a cell does not express gain counts too, as a program
switched on would. The genes are drawn at random (seeded) among moderately detected genes that are not
ribosomal or mitochondrial: the programs are new to the data, not chosen among any type's markers (a few
may be markers by chance).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from anndata import AnnData

logger = logging.getLogger("benchmarks.planted_programs")

#: Gene-name prefixes never planted: ribosomal proteins and mitochondrial genes.
EXCLUDED_PREFIXES = ("RPL", "RPS", "MRPL", "MRPS", "MT-")


@dataclass(frozen=True)
class PlantingSettings:
    """How the programs are planted.

    Attributes
    ----------
    n_genes
        Genes per program.
    fold
        Expected multiple of a planted gene's count in a planted cell.
    floor
        Expected counts added to every planted gene in a planted cell on top of the fold (genes at 0 gain).
    detection
        Range of the share of cells that detect a gene for it to be a candidate (moderately expressed).
    share
        Share of the cells of each type (shared program) or of the chosen type that get the program.
    restricted_type
        The cell type whose cells alone may get the type-restricted program.
    seed
        Seed of the gene and cell draws and of the Poisson counts.

    """

    n_genes: int = 30
    fold: float = 3.0
    floor: float = 0.5
    detection: tuple[float, float] = (0.05, 0.5)
    share: float = 0.5
    restricted_type: str = "CD4TN"
    seed: int = 0


def candidate_genes(adata: AnnData, detection: tuple[float, float]) -> np.ndarray:
    """Indices of genes detected in a share of cells within ``detection``, ribosomal and mitochondrial excluded."""
    counts = sp.csr_matrix(adata.X)
    detected = np.asarray((counts > 0).mean(axis=0)).ravel()
    names = adata.var_names.str.upper()
    allowed = ~np.asarray([name.startswith(EXCLUDED_PREFIXES) for name in names])
    return np.flatnonzero(allowed & (detected >= detection[0]) & (detected <= detection[1]))


def half_of_each(labels: np.ndarray, groups, share: float, rng: np.random.Generator) -> np.ndarray:
    """A boolean mask choosing ``share`` of the cells of each group in ``groups`` at random (none of the others)."""
    mask = np.zeros(len(labels), dtype=bool)
    for group in groups:
        rows = np.flatnonzero(labels == group)
        mask[rng.choice(rows, round(share * len(rows)), replace=False)] = True
    return mask


def raise_counts(
    counts: sp.csr_matrix, rows: np.ndarray, genes: np.ndarray, settings: PlantingSettings, rng: np.random.Generator
) -> sp.csr_matrix:
    """Return ``counts`` with ``old + Poisson(old * (fold - 1) + floor)`` in the (rows x genes) block."""
    block = counts[rows][:, genes].toarray().astype(np.float64)
    added = rng.poisson(block * (settings.fold - 1.0) + settings.floor)
    counts = counts.tolil()
    counts[np.ix_(rows, genes)] = block + added
    return counts.tocsr()


def plant_programs(adata: AnnData, labels_key: str = "cell_type", settings: PlantingSettings | None = None) -> AnnData:
    """Plant a shared and a type-restricted gene program into the counts of ``adata``.

    Parameters
    ----------
    adata
        Cells x genes with integer counts in ``X`` (e.g. ``scconcepts.ds.pbmc_sorted()``).
    labels_key
        ``obs`` column of cell types (``cell_type`` or ``trueLabel`` for the sorted PBMC).
    settings
        Program size, fold, floor, candidate genes, shares, restricted type and seed (defaults: see
        :class:`PlantingSettings`).

    Returns
    -------
    A new AnnData with the raised counts; ``obs["planted_shared"]`` and ``obs["planted_type"]`` (bools) mark
    the cells that got each program and ``uns["planted_programs"]`` holds the gene lists (``shared``,
    ``type``), the restricted type and the settings.

    """
    settings = settings or PlantingSettings()
    labels = adata.obs[labels_key].astype(str).to_numpy()
    if settings.restricted_type not in set(labels):
        raise ValueError(f"{settings.restricted_type!r} is not a value of obs[{labels_key!r}]")
    rng = np.random.default_rng(settings.seed)
    candidates = candidate_genes(adata, settings.detection)
    if len(candidates) < 2 * settings.n_genes:
        raise ValueError(f"only {len(candidates)} candidate genes for two programs of {settings.n_genes}")
    chosen = rng.choice(candidates, 2 * settings.n_genes, replace=False)
    shared_genes, type_genes = np.sort(chosen[: settings.n_genes]), np.sort(chosen[settings.n_genes :])
    shared_cells = half_of_each(labels, np.unique(labels), settings.share, rng)
    type_cells = half_of_each(labels, [settings.restricted_type], settings.share, rng)

    counts = sp.csr_matrix(adata.X, dtype=np.float32)
    counts = raise_counts(counts, np.flatnonzero(shared_cells), shared_genes, settings, rng)
    counts = raise_counts(counts, np.flatnonzero(type_cells), type_genes, settings, rng)
    planted = AnnData(X=counts.astype(np.float32), obs=adata.obs.copy(), var=adata.var.copy())
    planted.obs["planted_shared"] = shared_cells
    planted.obs["planted_type"] = type_cells
    planted.uns["planted_programs"] = {
        "shared": adata.var_names[shared_genes].astype(str).tolist(),
        "type": adata.var_names[type_genes].astype(str).tolist(),
        "restricted_type": settings.restricted_type,
        "fold": settings.fold,
        "floor": settings.floor,
        "detection": list(settings.detection),
        "seed": settings.seed,
    }
    logger.info(
        "planted %d genes x fold %.1f (+%.1f) into %d cells of every type and %d genes into %d %s cells "
        "(%d candidate genes)",
        settings.n_genes,
        settings.fold,
        settings.floor,
        shared_cells.sum(),
        settings.n_genes,
        type_cells.sum(),
        settings.restricted_type,
        len(candidates),
    )
    return planted
