"""Attribution over chunks of cells: each chunk returns sums over its cells, merged into one result.

Every score of :func:`scconcepts.attribution.run_attribution` comes from per gene x concept sums over the
concepts' cells (signed changes, their squares, acting cells, perturbed cells) and per-concept cell counts and
activation sums, so a chunk's sums add to another's whatever the split or the order the workers answer in.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from scconcepts._errors import InputError
from scconcepts.attribution._engine import AttributionResult, result_from_sums, run_attribution
from scconcepts.distributed._chunks import map_chunks

#: Engines whose work on one cell does not depend on the other cells (``screen+confirm`` picks rows globally).
SPLITTABLE_ENGINES = ("auto", "exact", "shortcut", "fast")
#: Distinct perturbed cells per work unit.
DEFAULT_CELLS_PER_CHUNK = 256

#: One work unit: per concept, its chosen cells in the chunk and their counterfactual sources.
Part = tuple[list[np.ndarray], list[np.ndarray] | None]


def _attribute_part(part: Part, shared: dict[str, Any]) -> AttributionResult:
    chosen, neighbours = part
    return run_attribution(
        shared["encoder"], shared["components"], shared["x"], shared["context"], shared["concepts"], chosen,
        neighbours=neighbours, progress=False, **shared["options"],
    )  # fmt: skip


def _split(chosen: list[np.ndarray], neighbours: list[np.ndarray] | None, cells_per_chunk: int) -> list[Part]:
    """Partition every concept's chosen cells by chunks of the distinct cells (order within a concept kept)."""
    cells = np.unique(np.concatenate(chosen))
    parts = []
    for start in range(0, cells.size, cells_per_chunk):
        block = cells[start : start + cells_per_chunk]
        keep = [np.isin(c, block) for c in chosen]
        sub_chosen = [c[k] for c, k in zip(chosen, keep, strict=True)]
        sub_neighbours = None if neighbours is None else [n[k] for n, k in zip(neighbours, keep, strict=True)]
        parts.append((sub_chosen, sub_neighbours))
    return parts


def merge_results(parts: list[AttributionResult]) -> AttributionResult:
    """One result from the results of disjoint sets of cells (the same concepts and genes in each)."""
    n_cells = np.sum([p.n_cells for p in parts], axis=0)
    activation = np.sum([p.n_cells * p.mean_activation for p in parts], axis=0)
    mean_activation = activation / np.maximum(n_cells, 1)
    total = np.sum([p.total for p in parts], axis=0)
    squares = np.sum([p.squares for p in parts], axis=0)
    count = np.sum([p.n_perturbed.astype(np.int64) for p in parts], axis=0)
    acting = np.sum([np.rint(p.fraction.astype(np.float64) * p.n_cells) for p in parts], axis=0)
    confirmed = None
    if parts[0].confirmed is not None:
        measured = np.sum([p.confirmed.astype(np.float64) * p.n_perturbed for p in parts], axis=0)
        confirmed = (measured / np.maximum(count, 1)).astype(np.float32)
    return result_from_sums(
        total, squares, count, acting, n_cells, mean_activation, confirmed=confirmed, engine=parts[0].engine,
        n_forwards=sum(p.n_forwards for p in parts), n_gradients=sum(p.n_gradients for p in parts),
        n_forwards_exact=sum(p.n_forwards_exact for p in parts), n_screened=sum(p.n_screened for p in parts),
    )  # fmt: skip


def attribute_on_workers(
    encoder: Any,
    components: Any,
    x: Any,
    context: Any,
    concepts: np.ndarray,
    chosen: list[np.ndarray],
    *,
    client: Any,
    neighbours: list[np.ndarray] | None = None,
    cells_per_chunk: int | None = None,
    **options: Any,
) -> AttributionResult:
    """:func:`~scconcepts.attribution.run_attribution` with the concepts' cells split into chunks on workers.

    The encoder, the components function and the expression are sent to each worker once; each chunk of
    distinct cells is one task (``cells_per_chunk``, default :data:`DEFAULT_CELLS_PER_CHUNK`). The merged
    result equals one process's up to float32 rounding of the forwards, which batch cells differently.
    """
    engine = options.get("engine", "auto")
    if engine not in SPLITTABLE_ENGINES:
        raise InputError(
            f"engine {engine!r} chooses its exact rows over all cells at once, so it runs in one process; "
            f"on workers use one of {', '.join(SPLITTABLE_ENGINES)}"
        )
    shared = {"encoder": encoder, "components": components, "x": x, "context": context,
              "concepts": concepts, "options": options}  # fmt: skip
    parts = map_chunks(_attribute_part, _split(chosen, neighbours, cells_per_chunk or DEFAULT_CELLS_PER_CHUNK), shared,
                       client=client, desc="attribution chunks")  # fmt: skip
    return merge_results(parts)
