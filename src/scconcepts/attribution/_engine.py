"""Run perturbation attribution for many concepts at once: one perturbed forward serves every concept.

A *group* is one cell together with the values its genes take when perturbed (for ``counterfactual``,
the values of one neighbour) and the concepts it was chosen for. Every gene of a group that the
strategy changes becomes one *row*: the cell with that gene replaced. Each row's forward pass gives
the change of every concept; the changes are added to the scores of the concepts the group serves.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch

from scconcepts._errors import InputError
from scconcepts._progress import progress
from scconcepts.attribution._forward import Components, ExactRunner, ShortcutRunner, make_runner
from scconcepts.attribution._specific import specific_scores
from scconcepts.attribution._strategies import GeneStatistics, Strategy
from scconcepts.models._base import Encoder

logger = logging.getLogger(__name__)

#: Engines of :func:`run_attribution`.
ENGINES = ("auto", "exact", "shortcut", "fast", "screen+confirm")
#: Which genes of a cell are perturbed.
GENE_SETS = ("expressed", "all")
_GROUPS_PER_CHUNK = 128
#: The screen runs the components at these multiples of each row's estimated embedding step.
_SCREEN_FACTORS = (0.5, 1.0, 1.5)
_JACOBIAN_FLOATS = 1 << 24  # cells x embedding dim x genes held at once by the screen (64 MiB of float32)


@dataclass
class AttributionResult:
    """Genes x concepts attribution of the selected concepts (model genes in encoder order).

    Attributes
    ----------
    score
        The concept-specific score (the default ranking): the raw effect's size beyond the gene's typical
        effect size on the other concepts, with the raw effect's sign (see
        :mod:`scconcepts.attribution._specific`).
    pval, padj
        One-sided p-values of the gene's excess effect on the concept (random-effects z: the concept's
        cells give its standard error, genes of similar overall effect give the null) and their
        per-concept Benjamini-Hochberg adjustment.
    fraction
        Share of the concept's chosen cells where the gene changes the activation by more than
        ``min_change`` of the cell's activation.
    n_perturbed
        Number of the concept's chosen cells in which the gene was perturbed.
    n_cells, mean_activation
        Per concept: cells used and their mean (recomputed) activation.
    n_forwards
        Perturbed rows run through the network (exactly).
    n_gradients
        Backward passes of the screen (``fast`` and ``screen+confirm``): one per embedding dimension
        and cell group.
    n_forwards_exact
        Rows the exact engine needs for the same attribution (the reference for the share of forwards).
    engine
        The engine that ran (``auto`` resolved).
    confirmed
        For ``fast`` and ``screen+confirm`` (``None`` otherwise): genes x concepts share of the concept's
        perturbed cells whose change was measured exactly (1: the score is exact; 0: an estimate).
    n_screened
        Rows estimated by the screen; each costs three passes of the components function (the SAE) on
        estimated embeddings, and no encoder pass.
    raw
        The raw causal effect: mean signed change over the concept's chosen cells (cells where the gene was
        not perturbed count as 0: it explains none of their activation), divided by the concept's mean
        activation in those cells.
    raw_se
        Standard error of ``raw`` over the concept's cells.
    z
        Random-effects z of the gene's excess effect on the concept (the test behind ``pval``).
    total, squares
        Genes x concepts sums over the concept's cells of the signed change and of its square (unnormalised).
        With ``n_perturbed`` (``> 0``: tested), ``n_cells`` and ``n_cells * mean_activation`` they are the
        mergeable sums behind every score: add them over workers that attributed disjoint cells of the same
        concepts and pass them to :func:`scconcepts.attribution.specific_scores` for split-independent results.

    """

    score: np.ndarray
    pval: np.ndarray
    padj: np.ndarray
    fraction: np.ndarray
    n_perturbed: np.ndarray
    n_cells: np.ndarray
    mean_activation: np.ndarray
    n_forwards: int
    n_gradients: int
    n_forwards_exact: int
    engine: str
    confirmed: np.ndarray | None = None
    n_screened: int = 0
    raw: np.ndarray | None = None
    raw_se: np.ndarray | None = None
    z: np.ndarray | None = None
    total: np.ndarray | None = None
    squares: np.ndarray | None = None


@dataclass
class _Groups:
    cell: np.ndarray  # local row of the cell in the dense block of used cells
    source: np.ndarray  # local row of the neighbour giving the values, or -1
    member: np.ndarray  # groups x concepts bool


def _build_groups(chosen: list[np.ndarray], neighbours: list[np.ndarray] | None) -> tuple[_Groups, np.ndarray]:
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
    return _Groups(cell=cell, source=source, member=member), used


class _Accumulator:
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


def run_attribution(
    encoder: Encoder,
    components: Components,
    x: sp.csr_matrix,
    context: np.ndarray | None,
    concepts: np.ndarray,
    chosen: list[np.ndarray],
    *,
    strategy: Strategy,
    stats: GeneStatistics,
    neighbours: list[np.ndarray] | None = None,
    engine: str = "auto",
    genes: str = "expressed",
    n_confirm: int = 10,
    confirm_share: float = 0.1,
    batch_size: int = 2048,
    min_change: float = 0.01,
    progress: bool = True,
) -> AttributionResult:
    """Attribute the selected concepts to the genes the encoder reads.

    Parameters
    ----------
    encoder
        The model; perturbed cells are re-encoded through :meth:`Encoder.encode`.
    components
        Embeddings -> activations (cells x components), e.g. an SAE's ``encode``; a PCA or ICA
        projection or the identity (neurons) work the same way.
    x
        Cells x ``encoder.genes`` expression, as :meth:`Encoder.expression` returns it.
    context
        Per-cell covariate codes from :meth:`Encoder.context`, or ``None``.
    concepts
        Columns of ``components``'s output to attribute.
    chosen
        Per selected concept, the cells (rows of ``x``) to perturb.
    strategy
        What a perturbed gene's value becomes (see :mod:`scconcepts.attribution._strategies`).
    stats
        Dataset-wide gene statistics for the ``mean`` and ``overexpress`` strategies.
    neighbours
        Per concept, each chosen cell's counterfactual neighbour (needed by ``counterfactual``).
    engine
        ``"auto"`` (the shortcut where the encoder has a linear first layer, else exact), ``"exact"``
        (batched re-encoding), ``"shortcut"``, ``"fast"`` (first-order gradient estimate of every
        change: input x gradient, taken on the first layer's transformed input where it has one) or
        ``"screen+confirm"`` (``fast``, then exact perturbation of the rows chosen by ``confirm_share`` and
        ``n_confirm``; the other rows keep their estimates). The screen linearises the encoder only:
        each perturbed cell's embedding is estimated from the embedding's Jacobian (one backward per
        embedding dimension and cell) and the components function runs on it exactly, so the SAE's
        switches between active concepts are followed.
    genes
        ``"expressed"``: perturb the genes the cell expresses; ``"all"``: every model gene.
    n_confirm
        ``screen+confirm``: for each concept, every row of its ``n_confirm`` genes of largest estimated
        |score| is run exactly (0: none).
    confirm_share
        ``screen+confirm``: share of all rows (of the exact engine's forwards) run exactly, those of
        largest value: how much the SAE's output moves when the row's estimated embedding step is
        scaled by 0.5 to 1.5 (the |estimated change| where the SAE responds linearly, more near a switch
        between active concepts), relative to the concept's total activation, the largest over the
        concepts the row's cell serves. One exact row serves every concept of its cell.
    batch_size
        Rows per forward batch.
    min_change
        A gene *acts* in a cell when it changes the activation by more than this share of it.
    progress
        Show progress bars.

    """
    if engine not in ENGINES:
        raise InputError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if genes not in GENE_SETS:
        raise InputError(f"genes must be one of {', '.join(GENE_SETS)}, not {genes!r}")
    if not 0 <= confirm_share <= 1:
        raise InputError(f"confirm_share must be between 0 and 1, not {confirm_share}")
    if strategy.needs_neighbour and neighbours is None:
        raise InputError(f"method {strategy.name!r} needs counterfactual neighbours")
    has_shortcut = encoder.linear_first_layer() is not None
    if engine == "shortcut" and not has_shortcut:
        raise InputError(
            f"the {encoder.name} encoder has no linear first layer, so engine='shortcut' cannot run; use 'exact'"
        )
    runner = make_runner(encoder, components, shortcut=engine != "exact")
    resolved = {"auto": runner.name}.get(engine, engine)
    groups, used = _build_groups(chosen, neighbours)
    n_genes, n_concepts = x.shape[1], len(chosen)
    device = encoder.device
    dense = torch.as_tensor(x[used].toarray(), dtype=torch.float32, device=device)
    ctx = None if context is None else torch.as_tensor(np.asarray(context)[used], device=device)
    with torch.no_grad():
        base = runner.prepare(dense, ctx).detach()
    concept_index = torch.as_tensor(np.asarray(concepts, dtype=np.int64), device=device)
    if len(concepts) and base.shape[1] <= int(np.max(concepts)):
        raise InputError(f"components give {base.shape[1]} activations but concept {int(np.max(concepts))} was asked")
    base = base[:, concept_index].double().cpu()
    n_cells = groups.member.sum(axis=0).astype(np.int64)
    mean_activation = (groups.member * base.numpy()[groups.cell]).sum(axis=0) / np.maximum(n_cells, 1)
    if np.any((n_cells > 0) & (mean_activation <= 0)):
        logger.warning(
            "%d concepts do not activate in their chosen cells when re-encoded: the encoder or SAE may not match "
            "the stored activations; their scores are 0",
            int(((n_cells > 0) & (mean_activation <= 0)).sum()),
        )
    plan = _Plan(runner, dense, base, groups, strategy, stats, concept_index, genes, batch_size, min_change, progress)
    scale = n_cells * mean_activation
    confirmed, n_gradients, n_screened = None, 0, 0
    if resolved in {"fast", "screen+confirm"}:
        total, n_gradients = plan.screen(n_genes, n_concepts, scale)
        n_screened = n_exact = int(plan.values.size)
        n_forwards, measured = 0, torch.zeros(n_genes, n_concepts, dtype=torch.float64)
        if resolved == "screen+confirm":
            estimate = _scores(total.total.numpy(), n_cells, mean_activation)
            pairs = _top_genes(estimate, total.count.numpy() > 0, n_confirm) if n_confirm > 0 else None
            correction, n_forwards, n_exact, measured = plan.exact(
                n_genes, n_concepts, rows=_top_rows(plan.values, confirm_share), pairs=pairs
            )
            total.total += correction.total
            total.squares += correction.squares
            total.acting += correction.acting
        confirmed = (measured / total.count.clamp_min(1)).numpy().astype(np.float32)
    else:
        total, n_forwards, n_exact, _ = plan.exact(n_genes, n_concepts)
    logger.info(
        "attributed %d concepts with %s (%s): %d perturbed forwards, %d gradients, %d screened rows "
        "(exact engine: %d forwards)",
        n_concepts, strategy.name, resolved, n_forwards, n_gradients, n_screened, n_exact,
    )  # fmt: skip
    return result_from_sums(
        total.total.numpy(), total.squares.numpy(), total.count.numpy(), total.acting.numpy(), n_cells,
        mean_activation, confirmed=confirmed, engine=resolved, n_forwards=n_forwards, n_gradients=n_gradients,
        n_forwards_exact=n_exact, n_screened=n_screened,
    )  # fmt: skip


def result_from_sums(
    total: np.ndarray,
    squares: np.ndarray,
    count: np.ndarray,
    acting: np.ndarray,
    n_cells: np.ndarray,
    mean_activation: np.ndarray,
    *,
    confirmed: np.ndarray | None,
    engine: str,
    n_forwards: int,
    n_gradients: int,
    n_forwards_exact: int,
    n_screened: int,
) -> AttributionResult:
    """Build the attribution from its sums over cells; every score and p-value derives from them.

    The sums are per gene x concept (signed changes, their squares, perturbed cells, acting cells), with the
    concepts' cell counts and mean activations; sums of disjoint sets of cells add up.
    """
    scores = specific_scores(total, squares, count > 0, squares > 0, n_cells, mean_activation)
    return AttributionResult(
        score=scores.specific.astype(np.float32),
        pval=scores.pval,
        padj=scores.padj,
        fraction=(acting / np.maximum(n_cells, 1)).astype(np.float32),
        n_perturbed=np.rint(count).astype(np.int32),
        n_cells=n_cells,
        mean_activation=mean_activation,
        n_forwards=n_forwards,
        n_gradients=n_gradients,
        n_forwards_exact=n_forwards_exact,
        engine=engine,
        confirmed=confirmed,
        n_screened=n_screened,
        raw=scores.raw.astype(np.float32),
        raw_se=scores.raw_se.astype(np.float32),
        z=scores.z.astype(np.float32),
        total=total,
        squares=squares,
    )


def _scores(total: np.ndarray, n_cells: np.ndarray, mean_activation: np.ndarray) -> np.ndarray:
    scale = n_cells * mean_activation
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.where(scale > 0, total / np.where(scale > 0, scale, 1), 0.0)
    return score


def _top_genes(estimate: np.ndarray, tested: np.ndarray, n: int) -> np.ndarray:
    keep = np.zeros(estimate.shape, dtype=bool)
    magnitude = np.where(tested, np.abs(estimate), -1.0)
    n = min(n, estimate.shape[0])
    top = np.argpartition(-magnitude, n - 1, axis=0)[:n]
    np.put_along_axis(keep, top, True, axis=0)
    return keep & tested


def _top_rows(values: np.ndarray, share: float) -> np.ndarray:
    """Mask of the ``share`` of rows of largest value."""
    keep = np.zeros(values.size, dtype=bool)
    n = min(round(share * values.size), values.size)
    if n > 0:
        keep[np.argpartition(-values, n - 1)[:n]] = True
    return keep


class _Plan:
    """Turns groups into rows and runs them through a runner (exactly, or through the screen)."""

    def __init__(
        self,
        runner: ExactRunner | ShortcutRunner,
        dense: torch.Tensor,
        base: torch.Tensor,
        groups: _Groups,
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

    def screen(self, n_genes: int, n_concepts: int, scale: np.ndarray) -> tuple[_Accumulator, int]:
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
        acc = _Accumulator(n_genes, n_concepts)
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
    ) -> tuple[_Accumulator, int, int, torch.Tensor]:
        """Run every row exactly, or (confirming) the chosen ``rows`` and every row of the chosen ``pairs``.

        When confirming, the accumulator holds (exact - estimate) for every concept each row's group serves,
        to be added to the screen's; the last return value counts, per gene and concept, the cells whose
        change was measured exactly.
        """
        acc = _Accumulator(n_genes, n_concepts)
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
