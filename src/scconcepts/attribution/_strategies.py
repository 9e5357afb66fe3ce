"""Perturbation strategies: what a gene's value becomes when it is perturbed, and how the change is signed.

Every change is signed so that a **positive score means the concept moves with the gene**: a row scores
``sign(perturbed value - original value) * (activation(perturbed) - activation(original))``.

- removal-type strategies (``mask``, ``counterfactual``, ``baseline``, ``mean``) mostly lower a gene the cell
  expresses: a gene whose removal lowers the concept scores > 0. Where the replacement is *above* the cell's
  value (a gene the concept's cells hold lower than the cells it is contrasted with, such as ribosomal
  transcripts in monocytes against lymphocytes), the gene is raised, and a gene whose rise lowers the concept
  scores < 0: the concept fires on its lack, not on it;
- ``overexpress`` raises the value: a gene whose rise lifts the concept scores > 0.

``Strategy.sign`` records the usual direction of the move (``-1`` lowered, ``+1`` raised), for display.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from scconcepts._errors import InputError


@dataclass(frozen=True)
class GeneStatistics:
    """Per-gene statistics of the whole dataset that fixed-value strategies replace values with.

    Attributes
    ----------
    mean
        Mean of each gene over all cells (values as the encoder reads them).
    high
        The ``quantile`` of each gene's non-zero values (0 for genes never expressed).

    """

    mean: np.ndarray
    high: np.ndarray

    @classmethod
    def from_expression(cls, x: sp.csr_matrix, *, quantile: float) -> GeneStatistics:
        """Compute the statistics of a cells x genes matrix.

        The high quantile is taken over the cells that express the gene, so that rarely expressed
        genes are raised to a level they reach in the data rather than to zero.
        """
        x = sp.csc_matrix(x)
        mean = np.asarray(x.mean(axis=0)).ravel().astype(np.float32)
        high = np.zeros(x.shape[1], dtype=np.float32)
        for gene in range(x.shape[1]):
            values = x.data[x.indptr[gene] : x.indptr[gene + 1]]
            values = values[values != 0]
            if values.size:
                high[gene] = np.quantile(values, quantile)
        return cls(mean=mean, high=high)


#: ``(original values (cells x genes), neighbour values or None, statistics) -> replacement values``.
Replace = Callable[[np.ndarray, np.ndarray | None, GeneStatistics], np.ndarray]


@dataclass(frozen=True)
class Strategy:
    """A perturbation strategy (decoupler ``MethodMeta`` style: metadata plus the function it runs).

    Attributes
    ----------
    name
        Name passed as ``method=`` to :func:`scconcepts.tl.attribute`.
    sign
        ``-1`` for removal-type strategies (the gene is usually lowered: score = original - perturbed
        activation), ``+1`` for strategies that add expression (score = perturbed - original); each row is
        signed by its own move (see the module docstring).
    needs_neighbour
        Whether the replacement values come from a neighbour row: each cell's nearest non-activating cell,
        or (``population``) the concept's mean profile over its non-activating cells.
    description
        One line for :func:`show`.
    replace
        Returns the value every gene takes when it is perturbed; genes whose value does not change
        are not perturbed (their change is exactly zero and costs no forward pass).

    """

    name: str
    sign: int
    needs_neighbour: bool
    description: str
    replace: Replace
    population: bool = False

    def replacement(self, original: np.ndarray, neighbour: np.ndarray | None, stats: GeneStatistics) -> np.ndarray:
        """Return the replacement values for ``original`` (cells x genes), as float32."""
        if self.needs_neighbour and neighbour is None:
            raise ValueError(f"strategy {self.name!r} needs the neighbour's values")
        return np.asarray(self.replace(original, neighbour, stats), dtype=np.float32)


def _mask(original: np.ndarray, neighbour: np.ndarray | None, stats: GeneStatistics) -> np.ndarray:
    return np.zeros_like(original)


def _counterfactual(original: np.ndarray, neighbour: np.ndarray | None, stats: GeneStatistics) -> np.ndarray:
    return np.broadcast_to(neighbour, original.shape).copy()


def _mean(original: np.ndarray, neighbour: np.ndarray | None, stats: GeneStatistics) -> np.ndarray:
    return np.broadcast_to(stats.mean, original.shape).copy()


def _overexpress(original: np.ndarray, neighbour: np.ndarray | None, stats: GeneStatistics) -> np.ndarray:
    # Only raise: a cell already above the high quantile keeps its value (the gene is not perturbed).
    return np.maximum(original, stats.high)


STRATEGIES: dict[str, Strategy] = {
    s.name: s
    for s in (
        Strategy("mask", -1, False, "gene set to zero (its token dropped); score = original - masked", _mask),
        Strategy(
            "counterfactual",
            -1,
            True,
            "gene set to its value in the nearest cell (embedding space) not activating the concept; "
            "score = original - counterfactual",
            _counterfactual,
        ),
        Strategy(
            "baseline",
            -1,
            True,
            "gene set to its mean over the cells that do not activate the concept (a population counterfactual); "
            "score = original - baseline",
            _counterfactual,
            population=True,
        ),
        Strategy("mean", -1, False, "gene set to its dataset mean; score = original - perturbed", _mean),
        Strategy(
            "overexpress",
            +1,
            False,
            "gene raised to a high quantile of its expressing cells; score = raised - original",
            _overexpress,
        ),
    )
}


def get_strategy(name: str) -> Strategy:
    """Return the strategy called ``name``; raise :class:`InputError` for an unknown name."""
    if name not in STRATEGIES:
        raise InputError(f"unknown attribution method {name!r}; choose one of {', '.join(STRATEGIES)}")
    return STRATEGIES[name]


def show() -> pd.DataFrame:
    """List the perturbation strategies: name, sign convention, whether a neighbour is needed, description."""
    return pd.DataFrame(
        [
            {
                "name": s.name,
                "score": "original - perturbed" if s.sign < 0 else "perturbed - original",
                "needs_neighbour": s.needs_neighbour,
                "description": s.description,
            }
            for s in STRATEGIES.values()
        ]
    )
