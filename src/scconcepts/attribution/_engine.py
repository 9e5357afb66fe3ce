"""Run perturbation attribution for many concepts at once: one perturbed forward serves every concept.

Each perturbed row (a chosen cell with one gene replaced, :mod:`scconcepts.attribution._plan`) gives the change of
every concept; the changes are added to the scores of the concepts the row's cell serves. This module checks the
request, picks the engine, runs the rows (exactly, screened, or screened then confirmed) and turns the sums into
scores (:func:`result_from_sums`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch

from scconcepts._errors import InputError
from scconcepts.attribution._forward import Components, make_runner
from scconcepts.attribution._plan import Accumulator, Plan, build_groups
from scconcepts.attribution._specific import specific_scores
from scconcepts.attribution._strategies import GeneStatistics, Strategy
from scconcepts.models._base import Encoder

logger = logging.getLogger(__name__)

#: Engines of :func:`run_attribution`.
ENGINES = ("auto", "exact", "shortcut", "fast", "screen+confirm")
#: Which genes of a cell are perturbed.
GENE_SETS = ("expressed", "all")


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
    _check(encoder, strategy, neighbours, engine, genes, confirm_share)
    runner = make_runner(encoder, components, shortcut=engine != "exact")
    resolved = {"auto": runner.name}.get(engine, engine)
    groups, used = build_groups(chosen, neighbours)
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
    plan = Plan(runner, dense, base, groups, strategy, stats, concept_index, genes, batch_size, min_change, progress)
    confirmed, n_gradients, n_screened = None, 0, 0
    if resolved in {"fast", "screen+confirm"}:
        confirm = (n_confirm, confirm_share) if resolved == "screen+confirm" else None
        total, confirmed, n_forwards, n_gradients, n_exact = _screened(plan, n_genes, n_cells, mean_activation, confirm)
        n_screened = int(plan.values.size)
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


def _check(
    encoder: Encoder,
    strategy: Strategy,
    neighbours: list[np.ndarray] | None,
    engine: str,
    genes: str,
    confirm_share: float,
) -> None:
    """Raise :class:`InputError` on settings :func:`run_attribution` cannot run with."""
    if engine not in ENGINES:
        raise InputError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if genes not in GENE_SETS:
        raise InputError(f"genes must be one of {', '.join(GENE_SETS)}, not {genes!r}")
    if not 0 <= confirm_share <= 1:
        raise InputError(f"confirm_share must be between 0 and 1, not {confirm_share}")
    if strategy.needs_neighbour and neighbours is None:
        raise InputError(f"method {strategy.name!r} needs counterfactual neighbours")
    if engine == "shortcut" and encoder.linear_first_layer() is None:
        raise InputError(
            f"the {encoder.name} encoder has no linear first layer, so engine='shortcut' cannot run; use 'exact'"
        )


def _screened(
    plan: Plan,
    n_genes: int,
    n_cells: np.ndarray,
    mean_activation: np.ndarray,
    confirm: tuple[int, float] | None,
) -> tuple[Accumulator, np.ndarray, int, int, int]:
    """The ``fast`` engine, and with ``confirm=(n_confirm, confirm_share)`` the ``screen+confirm`` engine.

    Every row is estimated by the screen; confirming runs exactly the rows of largest value (``confirm_share``) and
    every row of each concept's ``n_confirm`` genes of largest estimated score, whose exact changes replace their
    estimates. Returns the sums, the share of each gene x concept's cells measured exactly, the exact forwards run,
    the gradients taken and the exact engine's forwards.
    """
    n_concepts = len(n_cells)
    total, n_gradients = plan.screen(n_genes, n_concepts, n_cells * mean_activation)
    n_exact = int(plan.values.size)
    n_forwards, measured = 0, torch.zeros(n_genes, n_concepts, dtype=torch.float64)
    if confirm is not None:
        n_confirm, confirm_share = confirm
        estimate = _scores(total.total.numpy(), n_cells, mean_activation)
        pairs = _top_genes(estimate, total.count.numpy() > 0, n_confirm) if n_confirm > 0 else None
        correction, n_forwards, n_exact, measured = plan.exact(
            n_genes, n_concepts, rows=_top_rows(plan.values, confirm_share), pairs=pairs
        )
        total.total += correction.total
        total.squares += correction.squares
        total.acting += correction.acting
    confirmed = (measured / total.count.clamp_min(1)).numpy().astype(np.float32)
    return total, confirmed, n_forwards, n_gradients, n_exact


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
