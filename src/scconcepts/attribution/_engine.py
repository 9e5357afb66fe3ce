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
from tqdm.auto import tqdm

from scconcepts._errors import InputError
from scconcepts.attribution._forward import Components, ExactRunner, ShortcutRunner, make_runner
from scconcepts.attribution._stats import empirical_null_pvalues
from scconcepts.attribution._strategies import GeneStatistics, Strategy
from scconcepts.models._base import Encoder

logger = logging.getLogger(__name__)

#: Engines of :func:`run_attribution`.
ENGINES = ("auto", "exact", "shortcut", "fast", "screen+confirm")
#: Which genes of a cell are perturbed.
GENE_SETS = ("expressed", "all")
_GROUPS_PER_CHUNK = 128


@dataclass
class AttributionResult:
    """Genes x concepts attribution of the selected concepts (model genes in encoder order).

    Attributes
    ----------
    score
        Mean signed change over the concept's chosen cells (cells where the gene was not perturbed count
        as 0), divided by the concept's mean activation in those cells.
    pval, padj
        Empirical-null p-values and their per-concept Benjamini-Hochberg adjustment.
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
        Rows whose gradient was computed (``fast`` and the screen of ``screen+confirm``).
    n_forwards_exact
        Rows the exact engine needs for the same attribution (the reference for the share of forwards).
    engine
        The engine that ran (``auto`` resolved).
    confirmed
        For ``screen+confirm``: genes x concepts mask of the exactly measured scores.

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
    """Sums of signed changes, acting counts and perturbation counts (genes x concepts)."""

    def __init__(self, n_genes: int, n_concepts: int) -> None:
        self.total = torch.zeros(n_genes, n_concepts, dtype=torch.float64)
        self.acting = torch.zeros(n_genes, n_concepts, dtype=torch.float64)
        self.count = torch.zeros(n_genes, n_concepts, dtype=torch.float64)

    def add(self, gene: torch.Tensor, signed: torch.Tensor, acts: torch.Tensor, weight: torch.Tensor) -> None:
        self.total.index_add_(0, gene, (signed * weight).double())
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
    n_confirm: int = 50,
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
        ``"screen+confirm"`` (``fast``, then exact perturbation of each concept's ``n_confirm`` genes of
        largest estimated |score|; the other genes keep their estimate).
    genes
        ``"expressed"``: perturb the genes the cell expresses; ``"all"``: every model gene.
    n_confirm
        Genes per concept measured exactly by ``screen+confirm``.
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
    confirmed = None
    if resolved in {"fast", "screen+confirm"}:
        acc, n_gradients = plan.gradients(n_genes, n_concepts)
    else:
        acc, n_gradients = None, 0
    if resolved == "fast":
        total, n_forwards, n_exact = acc, 0, plan.count_rows()
    else:
        if resolved == "screen+confirm":
            estimate = _scores(acc.total.numpy(), n_cells, mean_activation)
            confirmed = _top_genes(estimate, acc.count.numpy() > 0, n_confirm)
        total, n_forwards, n_exact = plan.exact(n_genes, n_concepts, confirmed)
        if confirmed is not None:  # the exact rows replace their estimates in every concept they serve
            total.total += acc.total
            total.acting += acc.acting
            total.count = acc.count
    score = _scores(total.total.numpy(), n_cells, mean_activation)
    tested = total.count.numpy() > 0
    pval, padj = empirical_null_pvalues(score, tested)
    fraction = total.acting.numpy() / np.maximum(n_cells, 1)
    logger.info(
        "attributed %d concepts with %s (%s): %d perturbed forwards, %d gradients (exact engine: %d forwards)",
        n_concepts, strategy.name, resolved, n_forwards, n_gradients, n_exact,
    )  # fmt: skip
    return AttributionResult(
        score=score.astype(np.float32),
        pval=pval,
        padj=padj,
        fraction=fraction.astype(np.float32),
        n_perturbed=np.rint(total.count.numpy()).astype(np.int32),
        n_cells=n_cells,
        mean_activation=mean_activation,
        n_forwards=n_forwards,
        n_gradients=n_gradients,
        n_forwards_exact=n_exact,
        engine=resolved,
        confirmed=confirmed,
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


class _Plan:
    """Turns groups into rows and runs them through a runner."""

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
        starts = range(0, self.groups.cell.size, _GROUPS_PER_CHUNK)
        for start in tqdm(starts, desc=desc, disable=not self.progress or len(starts) < 2):
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

    def count_rows(self) -> int:
        """Rows the exact engine would run."""
        return int(sum(perturb.sum() for *_, perturb in self._chunks("counting rows")))

    def exact(self, n_genes: int, n_concepts: int, confirmed: np.ndarray | None) -> tuple[_Accumulator, int, int]:
        """Run every row (or, with ``confirmed``, the rows of confirmed gene-concept pairs) exactly."""
        acc = _Accumulator(n_genes, n_concepts)
        n_rows = n_exact = 0
        sign = float(self.strategy.sign)
        for chunk, cells, _, new, perturb in self._chunks(f"perturbing ({self.runner.name})"):
            member = self.groups.member[chunk]
            n_exact += int(perturb.sum())
            if confirmed is not None:
                perturb &= (member.astype(np.float32) @ confirmed.T.astype(np.float32)) > 0
            group, gene = np.nonzero(perturb)
            weight_all = member[group]
            for start in range(0, gene.size, self.batch_size):
                rows = slice(start, start + self.batch_size)
                cell = torch.as_tensor(cells[group[rows]])
                gene_t = torch.as_tensor(gene[rows])
                value = torch.as_tensor(new[group[rows], gene[rows]])
                with torch.no_grad():
                    out = self.runner.perturbed(cell, gene_t, value)[:, self.concept_index].double().cpu()
                before = self.base[cell]
                delta = out - before
                acts = delta.abs() > self.min_change * before.abs()
                weight = torch.as_tensor(weight_all[rows], dtype=torch.float64)
                if confirmed is None:
                    acc.add(gene_t, sign * delta, acts, weight)
                else:  # add (exact - estimate) of these rows to the estimates, for every concept of the group
                    estimate = self._estimates(chunk.start + group[rows], gene[rows])
                    est_acts = estimate.abs() > self.min_change * before.abs()
                    acc.total.index_add_(0, gene_t, sign * (delta - estimate) * weight)
                    acc.acting.index_add_(0, gene_t, (acts.double() - est_acts.double()) * weight)
                n_rows += gene_t.numel()
        return acc, n_rows, n_exact

    def _estimates(self, group: np.ndarray, gene: np.ndarray) -> torch.Tensor:
        """The screen's estimated change of each row (rows x concepts; 0 for concepts the group does not serve)."""
        pair = self.pair_id[group]  # rows x concepts
        values = self.estimates[np.maximum(pair, 0), gene[:, None]]
        return torch.as_tensor(np.where(pair >= 0, values, 0.0), dtype=torch.float64)

    def gradients(self, n_genes: int, n_concepts: int) -> tuple[_Accumulator, int]:
        """First-order estimate of every row's change: gradient x input step, one gradient per (cell, concept)."""
        acc = _Accumulator(n_concepts, n_genes)  # concepts x genes, transposed at the end
        n_rows = 0
        sign = float(self.strategy.sign)
        per_batch = max(1, self.batch_size // 8)
        # Each (group, concept) pair's estimated changes of every gene, kept for screen+confirm's corrections.
        self.pair_id = np.full(self.groups.member.shape, -1, dtype=np.int64)
        self.pair_id[self.groups.member] = np.arange(int(self.groups.member.sum()))
        self.estimates = np.zeros((int(self.groups.member.sum()), n_genes), dtype=np.float32)
        for chunk, cells, original, new, perturb in self._chunks(f"gradients ({self.runner.name})"):
            group, concept = np.nonzero(self.groups.member[chunk])
            for start in range(0, group.size, per_batch):
                rows = slice(start, start + per_batch)
                g, j = group[rows], concept[rows]
                cell = torch.as_tensor(cells[g])
                with torch.enable_grad():
                    grad = self.runner.gene_gradients(cell, self.concept_index[torch.as_tensor(j)]).detach().cpu()
                step = self.runner.gene_steps(torch.as_tensor(original[g]), torch.as_tensor(new[g]))
                mask = torch.as_tensor(perturb[g])
                delta = (grad * step * mask).double()
                self.estimates[self.pair_id[chunk.start + g, j]] = delta.numpy()
                before = self.base[cell, torch.as_tensor(j)][:, None]
                acts = delta.abs() > self.min_change * before.abs()
                acc.add(torch.as_tensor(j), sign * delta, acts, mask.double())
                n_rows += g.size
        for name in ("total", "acting", "count"):
            setattr(acc, name, getattr(acc, name).T.contiguous())
        return acc, n_rows
