"""A ``dask.distributed`` client from ``--scheduler ADDRESS`` or ``--workers N`` (none: one process)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from scconcepts._errors import InputError

logger = logging.getLogger(__name__)


@contextmanager
def dask_client(
    *, scheduler: str | None = None, workers: int | None = None, threads_per_worker: int = 1
) -> Iterator[Any]:
    """Yield a ``distributed.Client`` for the options, or ``None`` to work in this process.

    Parameters
    ----------
    scheduler
        Address of a running ``dask.distributed`` scheduler (e.g. ``tcp://10.0.0.5:8786``, one started by
        dask-jobqueue on a SLURM cluster). The cluster is not closed on exit.
    workers
        Start a ``LocalCluster`` of this many worker processes (closed on exit). ``None`` or ``0``: no cluster.
    threads_per_worker
        Threads of each local worker process. One per process avoids torch's threads competing.

    """
    if scheduler and workers:
        raise InputError("give either --scheduler or --workers, not both")
    if workers is not None and workers < 0:
        raise InputError(f"--workers must be a positive number of processes, not {workers}")
    if not scheduler and not workers:
        yield None
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError as error:  # pragma: no cover - dask[distributed] is a dependency
        raise InputError(
            "spreading work over workers needs dask.distributed (pip install 'dask[distributed]')"
        ) from error
    if scheduler:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as error:
            raise InputError(f"cannot reach the dask scheduler at {scheduler} ({error})") from error
        logger.info("using the dask scheduler at %s (%d workers)", scheduler, len(client.scheduler_info()["workers"]))
        try:
            yield client
        finally:
            client.close()
        return
    cluster = LocalCluster(
        n_workers=workers,
        threads_per_worker=threads_per_worker,
        processes=True,
        dashboard_address=None,
        worker_dashboard_address=None,
    )
    client = Client(cluster)
    logger.info("started a local dask cluster of %d worker processes", workers)
    try:
        yield client
    finally:
        client.close()
        cluster.close()
