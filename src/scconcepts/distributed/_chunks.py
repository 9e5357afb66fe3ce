"""Ordered maps over chunks of cells, in this process or on Dask workers, with the same result either way."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from scconcepts._progress import progress

Result = TypeVar("Result")

#: Cells per work unit when none is given: big enough to amortise a task's overhead, small enough to spread.
DEFAULT_CHUNK = 20_000


def cell_chunks(n_cells: int, chunk_size: int = DEFAULT_CHUNK) -> list[slice]:
    """Split ``range(n_cells)`` into consecutive slices of at most ``chunk_size`` cells."""
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be positive, not {chunk_size}")
    return [slice(start, min(start + chunk_size, n_cells)) for start in range(0, n_cells, chunk_size)]


def map_chunks(
    function: Callable[..., Result],
    parts: Sequence[Any],
    *shared: Any,
    client: Any = None,
    desc: str = "chunks",
) -> list[Result]:
    """Return ``[function(part, *shared) for part in parts]``, computed on ``client``'s workers when given.

    The objects in ``shared`` (an encoder, an SAE...) are sent to every worker once, not once per part.
    Results come back in the order of ``parts`` whatever order the workers finish in, and a part whose
    worker dies is recomputed by the scheduler, so the result does not depend on how the work ran.

    Parameters
    ----------
    function
        A picklable function of one part and the shared objects.
    parts
        The work units (e.g. slices of cells, or tuples of inputs).
    *shared
        Objects every call needs.
    client
        A ``distributed.Client``; ``None`` runs every part here, one after another.
    desc
        Name of the progress bar.

    """
    if client is None:
        return [function(part, *shared) for part in progress(parts, desc=desc, disable=len(parts) < 4)]
    from distributed import as_completed

    # Each object is wrapped in a list so that it travels as one piece under a fresh random key: scattering a
    # dict directly would send each value under the dict's own key ("embedding", "config", ...), and two maps
    # sharing a client would then release each other's data ("lost dependencies").
    handles = [client.scatter([obj], broadcast=True, hash=False)[0] for obj in shared]
    futures = [client.submit(function, part, *handles, pure=False) for part in parts]
    position = {future.key: i for i, future in enumerate(futures)}
    results: list[Any] = [None] * len(futures)
    with progress(total=len(futures), desc=desc, disable=len(futures) < 4) as bar:
        for future in as_completed(futures):
            results[position[future.key]] = future.result()
            bar.update()
    return results
