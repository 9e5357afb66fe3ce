"""The rows of an attribution and their runs: each chosen cell's perturbed genes, run exactly or estimated.

A *group* is one cell together with the values its genes take when perturbed (for ``counterfactual``,
the values of one neighbour) and the concepts it was chosen for. Every gene of a group that the
strategy changes becomes one *row*: the cell with that gene replaced. :class:`Plan` runs the rows through a runner,
exactly (:meth:`Plan.exact`) or first-order in the encoder (:meth:`Plan.screen`), and adds each row's change of
every concept to the sums of the concepts its group serves (:class:`Accumulator`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from scconcepts._progress import progress
from scconcepts.attribution._forward import ExactRunner, ShortcutRunner
from scconcepts.attribution._strategies import GeneStatistics, Strategy

_GROUPS_PER_CHUNK = 128
#: The screen runs the components at these multiples of each row's estimated embedding step.
_SCREEN_FACTORS = (0.5, 1.0, 1.5)
_JACOBIAN_FLOATS = 1 << 24  # cells x embedding dim x genes held at once by the screen (64 MiB of float32)


@dataclass
class Groups:
    """The groups of an attribution: a chosen cell, the cell its values come from, the concepts it serves."""

    cell: np.ndarray  # local row of the cell in the dense block of used cells
    source: np.ndarray  # local row of the neighbour giving the values, or -1
    member: np.ndarray  # groups x concepts bool


def build_groups(chosen: list[np.ndarray], neighbours: list[np.ndarray] | None) -> tuple[Groups, np.ndarray]:
    """One group per distinct (cell, neighbour) of the concepts' ``chosen`` cells, and the cells they use (sorted).

    A cell chosen for several concepts with the same neighbour is one group serving all of them.
    """
    keys: dict[tuple[int, int], int] = {}
    pairs: list[tuple[int, int]] = []
    for j, cells in enumerate(chosen):
        sources = neighbours[j] if neighbours is not None else np.full(cells.size, -1)
        for cell, source in zip(cells.tolist(), sources.tolist(), strict=True):
            if neighbours is not None and source < 0:
                continue  # the concept is active in every cell: no counterfactual exists
            group = keys.setdefault((cell, source), len(keys))
            pairs.append((group, j))
    member = np.zeros((len(keys), len(chosen)), dtype=bool)
    for group, j in pairs:
        member[group, j] = True
    key_array = np.array(list(keys), dtype=np.int64).reshape(-1, 2)
    used = np.unique(np.concatenate([key_array[:, 0], key_array[key_array[:, 1] >= 0, 1]]))
    local = {int(c): i for i, c in enumerate(used)}
    cell = np.array([local[int(c)] for c in key_array[:, 0]], dtype=np.int64)
    source = np.array([local[int(s)] if s >= 0 else -1 for s in key_array[:, 1]], dtype=np.int64)
    return Groups(cell=cell, source=source, member=member), used


class Accumulator:
    """Sums of signed changes and of their squares, acting counts and perturbation counts (genes x concepts).

    All are plain sums over cells, so accumulators of different cells merge by addition.
    """

    def __init__(self, n_genes: int, n_concepts: int) -> None:
        self.total = torch.zeros(n_genes, n_concepts, dtype=torch.float64)
        self.squares = torch.zeros(n_genes, n_concepts, dtype=torch.float64)
        self.acting = torch.zeros(n_genes, n_concepts, dtype=torch.float64)
        self.count = torch.zeros(n_genes, n_concepts, dtype=torch.float64)

    def add(self, gene: torch.Tensor, signed: torch.Tensor, acts: torch.Tensor, weight: torch.Tensor) -> None:
        self.total.index_add_(0, gene, (signed * weight).double())
        self.squares.index_add_(0, gene, (signed.square() * weight).double())
        self.acting.index_add_(0, gene, (acts & (weight > 0)).double())
        self.count.index_add_(0, gene, weight.double())


class Plan:
    """Turns groups into rows and runs them through a runner (exactly, or through the screen)."""

    def __init__(
        self,
        runner: ExactRunner | ShortcutRunner,
        dense: torch.Tensor,
        base: torch.Tensor,
        groups: Groups,
        strategy: Strategy,
        stats: GeneStatistics,
        concept_index: torch.Tensor,
        genes: str,
        batch_size: int,
        min_change: float,
        progress: bool,
    ) -> None:
        self.runner, self.dense, self.base, self.groups = runner, dense, base, groups
        self.strategy, self.stats, self.concept_index = strategy, stats, concept_index
        self.genes, self.batch_size, self.min_change, self.progress = genes, batch_size, min_change, progress

    def _chunks(self, desc: str):
        """Per chunk of groups: the chunk, its cells, their values before and after, and which genes are rows."""
        starts = range(0, self.groups.cell.size, _GROUPS_PER_CHUNK)
        for start in progress(starts, desc=desc, disable=not self.progress or len(starts) < 2):
            chunk = slice(start, start + _GROUPS_PER_CHUNK)
            cells = self.groups.cell[chunk]
            original = self.dense[torch.as_tensor(cells)].cpu().numpy()
            sources = self.groups.source[chunk]
            neighbour = (
                self.dense[torch.as_tensor(np.maximum(sources, 0))].cpu().numpy() if (sources >= 0).any() else None
            )
            new = self.strategy.replacement(original, neighbour, self.stats)
            perturb = new != original
            if self.genes == "expressed":
                perturb &= original != 0
            yield chunk, cells, original, new, perturb

    @staticmethod
    def _direction(original: np.ndarray, new: np.ndarray, group: np.ndarray, gene: np.ndarray) -> torch.Tensor:
        """Per row, the sign of the gene's move (+1 raised, -1 lowered), as a column to multiply changes by.

        A row's score is ``direction * (perturbed - original activation)``: positive when the concept moves with
        the gene. Removal lowers a gene the cell expresses above the replacement, so a gene whose removal lowers
        the concept scores > 0; but a gene the cell holds *below* the replacement (a replacement that raises it)
        scores > 0 only if raising it lifts the concept. A gene the concept's cells lack, whose lack lifts the
        concept, scores < 0: more of it lowers the concept.
        """
        return torch.as_tensor(np.sign(new[group, gene] - original[group, gene]), dtype=torch.float64)[:, None]

    def screen(self, n_genes: int, n_concepts: int, scale: np.ndarray) -> tuple[Accumulator, int]:
        """Estimate every row's change of every concept: first-order in the encoder, exact in the components.

        Per group, the Jacobian of the embedding with respect to each gene's input step (one backward
        per embedding dimension) gives each row's estimated embedding ``embedding + step * J[:, gene]``;
        the components function (the SAE) then runs on it exactly, so its discontinuous choice of active
        concepts is followed rather than linearised. It also runs at half and one and a half times the
        estimated step: a row's *value* is how much a concept's activation moves over that range (the
        |estimate| where the SAE responds linearly, much more where the estimate sits near a switch
        between active concepts and may land on the wrong side), the largest over the concepts its group
        serves, each divided by the concept's ``n_cells * mean_activation``. Keeps each row's estimates
        of the concepts its group serves, for the confirmation.
        Returns the accumulated estimates and the number of gradients (backward passes) taken.
        """
        acc = Accumulator(n_genes, n_concepts)
        embedding = self.runner.embedding.detach()
        dim = embedding.shape[1]
        per_jacobian = max(1, _JACOBIAN_FLOATS // max(1, dim * n_genes))
        inverse_scale = np.where(scale > 0, 1.0 / np.where(scale > 0, scale, 1.0), 0.0)
        flat, n_served, values, n_gradients = [], [], [], 0
        for chunk, cells, original, new, perturb in self._chunks(f"screening ({self.runner.name})"):
            member = self.groups.member[chunk]
            steps = self.runner.gene_steps(torch.as_tensor(original), torch.as_tensor(new)).to(embedding.device)
            for first in range(0, cells.size, per_jacobian):
                sub = slice(first, first + per_jacobian)
                with torch.enable_grad():
                    jacobian = self.runner.embedding_jacobian(torch.as_tensor(cells[sub])).detach()
                n_gradients += jacobian.shape[0] * dim
                group, gene = np.nonzero(perturb[sub])
                for start in range(0, gene.size, self.batch_size):
                    rows = slice(start, start + self.batch_size)
                    g, gene_t = torch.as_tensor(group[rows]), torch.as_tensor(gene[rows])
                    cell = torch.as_tensor(cells[sub][group[rows]])
                    move = steps[first + g, gene_t][:, None] * jacobian[g, :, gene_t]
                    with torch.no_grad():
                        out = [
                            self.runner.components(embedding[cell] + factor * move)[:, self.concept_index]
                            .double()
                            .cpu()
                            for factor in _SCREEN_FACTORS
                        ]
                    before = self.base[cell]
                    delta = out[1] - before
                    served = member[sub][group[rows]]
                    weight = torch.as_tensor(served, dtype=torch.float64)
                    direction = self._direction(original[sub], new[sub], group[rows], gene[rows])
                    acc.add(gene_t, direction * delta, delta.abs() > self.min_change * before.abs(), weight)
                    estimate = delta.numpy()
                    flat.append(estimate[served])
                    n_served.append(served.sum(axis=1))
                    spread = ((out[0] - out[1]).abs() + (out[2] - out[1]).abs()).numpy()
                    values.append(np.max(spread * inverse_scale * served, axis=1, initial=0.0))
        self.flat = np.concatenate(flat) if flat else np.zeros(0)
        self.values = np.concatenate(values) if values else np.zeros(0)
        served_per_row = np.concatenate(n_served) if n_served else np.zeros(0, dtype=np.int64)
        self.offsets = (np.cumsum(served_per_row) - served_per_row).astype(np.int64)
        return acc, n_gradients

    def _row_estimates(self, row: np.ndarray, served: np.ndarray) -> torch.Tensor:
        """The screen's estimates of global rows ``row`` (rows x concepts; 0 where the group does not serve)."""
        position = self.offsets[row][:, None] + np.cumsum(served, axis=1) - 1
        values = self.flat[np.where(served, position, 0)] if self.flat.size else np.zeros(served.shape)
        return torch.as_tensor(np.where(served, values, 0.0), dtype=torch.float64)

    def exact(
        self, n_genes: int, n_concepts: int, rows: np.ndarray | None = None, pairs: np.ndarray | None = None
    ) -> tuple[Accumulator, int, int, torch.Tensor]:
        """Run every row exactly, or (confirming) the chosen ``rows`` and every row of the chosen ``pairs``.

        When confirming, the accumulator holds (exact - estimate) for every concept each row's group serves,
        to be added to the screen's; the last return value counts, per gene and concept, the cells whose
        change was measured exactly.
        """
        acc = Accumulator(n_genes, n_concepts)
        measured = torch.zeros(n_genes, n_concepts, dtype=torch.float64)
        confirming = rows is not None or pairs is not None
        n_rows = n_exact = 0
        for chunk, cells, original, new, perturb in self._chunks(f"perturbing ({self.runner.name})"):
            member = self.groups.member[chunk]
            group, gene = np.nonzero(perturb)
            row_id = n_exact + np.arange(gene.size)
            n_exact += int(gene.size)
            if confirming:
                keep = np.zeros(gene.size, dtype=bool) if rows is None else rows[row_id]
                if pairs is not None:
                    keep |= (member[group] & pairs[gene]).any(axis=1)
                group, gene, row_id = group[keep], gene[keep], row_id[keep]
            for start in range(0, gene.size, self.batch_size):
                batch = slice(start, start + self.batch_size)
                cell = torch.as_tensor(cells[group[batch]])
                gene_t = torch.as_tensor(gene[batch])
                value = torch.as_tensor(new[group[batch], gene[batch]])
                with torch.no_grad():
                    out = self.runner.perturbed(cell, gene_t, value)[:, self.concept_index].double().cpu()
                before = self.base[cell]
                served = member[group[batch]]
                delta = out - before
                weight = torch.as_tensor(served, dtype=torch.float64)
                direction = self._direction(original, new, group[batch], gene[batch])
                if confirming:  # replace the estimates of these rows, in every concept their group serves
                    estimate = self._row_estimates(row_id[batch], served)
                    threshold = self.min_change * before.abs()
                    acts = (delta.abs() > threshold).double() - (estimate.abs() > threshold).double()
                    acc.total.index_add_(0, gene_t, direction * (delta - estimate) * weight)
                    acc.squares.index_add_(0, gene_t, (delta.square() - estimate.square()) * weight)
                    acc.acting.index_add_(0, gene_t, acts * weight)
                    measured.index_add_(0, gene_t, weight)
                else:
                    acc.add(gene_t, direction * delta, delta.abs() > self.min_change * before.abs(), weight)
                n_rows += gene_t.numel()
        return acc, n_rows, n_exact, measured
