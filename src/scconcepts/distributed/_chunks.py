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


class SlicedParts(Sequence[Any]):
    """Parts of :func:`map_chunks` made only when asked for: ``part(rows)`` for each slice of ``chunks``.

    With the in-flight window, only a few chunks' copies of the cells exist at once instead of a copy of
    the whole matrix cut into parts before the first one is sent.
    """

    def __init__(self, part: Callable[[slice], Any], chunks: Sequence[slice]) -> None:
        self._part = part
        self._chunks = list(chunks)

    def __len__(self) -> int:
        return len(self._chunks)

    def __getitem__(self, index: int) -> Any:  # type: ignore[override]
        return self._part(self._chunks[index])


def in_flight_window(client: Any) -> int:
    """How many parts :func:`map_chunks` keeps submitted at once: twice the workers' threads, at least 2.

    Two per thread keep every worker busy (the next part is already there when one finishes) while the
    inputs and results held on the cluster stay a few chunks, not the whole data set.
    """
    threads = sum(client.nthreads().values())
    return max(2, 2 * threads)


def map_chunks(
    function: Callable[..., Result],
    parts: Sequence[Any],
    *shared: Any,
    client: Any = None,
    desc: str = "chunks",
    window: int | None = None,
) -> list[Result]:
    """Return ``[function(part, *shared) for part in parts]``, computed on ``client``'s workers when given.

    The objects in ``shared`` (an encoder, an SAE...) are sent to every worker once, not once per part.
    At most ``window`` parts are on the cluster at a time: each result is fetched as soon as its part is
    done, and only then is the next part submitted, so the memory held on the workers and the scheduler is
    a few chunks' worth whatever the number of parts. Results come back in the order of ``parts`` whatever
    order the workers finish in, and a part whose worker dies is recomputed by the scheduler, so the result
    does not depend on how the work ran.

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
    window
        Most parts submitted and not yet fetched at once; default :func:`in_flight_window` (twice the
        workers' threads, at least 2). Ignored without a client.

    """
    if client is None:
        return [function(part, *shared) for part in progress(parts, desc=desc, disable=len(parts) < 4)]
    if window is None:
        window = in_flight_window(client)
    if window < 1:
        raise ValueError(f"window must be positive, not {window}")
    from distributed import as_completed

    # Each object is wrapped in a list so that it travels as one piece under a fresh random key: scattering a
    # dict directly would send each value under the dict's own key ("embedding", "config", ...), and two maps
    # sharing a client would then release each other's data ("lost dependencies").
    handles = [client.scatter([obj], broadcast=True, hash=False)[0] for obj in shared]
    results: list[Any] = [None] * len(parts)
    position: dict[str, int] = {}
    running = as_completed()

    def submit(i: int) -> None:
        future = client.submit(function, parts[i], *handles, pure=False)
        position[future.key] = i
        running.add(future)

    submitted = min(window, len(parts))
    for i in range(submitted):
        submit(i)
    with progress(total=len(parts), desc=desc, disable=len(parts) < 4) as bar:
        for future in running:
            results[position.pop(future.key)] = future.result()
            del future  # the last reference: the scheduler forgets the part and its result on the workers
            if submitted < len(parts):
                submit(submitted)
                submitted += 1
            bar.update()
    return results
