"""How many CPU threads torch uses: fixed by the user, or chosen from the size of the work and the machine's CPUs.

torch starts one intra-op thread per core, and its OpenMP threads spin at every barrier. When the
work per operation is small (a Top-K SAE on a 10-d embedding) the threads cost more than they
save, and when another process holds a core (a notebook, a second run) spinning threads wait for
each other: SAE training was measured 30x slower and scVI ~10x slower than with one thread. So
every tool that runs torch picks its thread count here, once per call:

- ``settings.threads = N`` (or ``scconcepts --threads N``): exactly ``N`` threads;
- else, when the user set ``OMP_NUM_THREADS``: that many (the user's choice is kept);
- else one thread per :data:`MAC_PER_THREAD` multiply-adds of the largest matrix product of one
  training step, at most the machine's CPUs (:func:`cpu_count`).

The count never depends on the machine's load: torch's reductions and MKL's matrix products split
their sums by thread, so another count can give other last bits, which training amplifies into
other concepts. A busy CPU must not stall the threads instead: the package asks OpenMP to let
waiting threads sleep rather than spin (:func:`passive_waiting`, ``OMP_WAIT_POLICY=PASSIVE`` unless
the user set it): beside a CPU-bound process on 2 busy cores, SAE and scVI training then took 0.6-0.9x the
time of one thread, where spinning threads took 7-30x (``python -m benchmarks threads``).
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from scconcepts._reproducible import deterministic

logger = logging.getLogger(__name__)

#: Multiply-adds of one matrix product that make a second thread worth its synchronisation.
MAC_PER_THREAD = 10_000_000
#: Environment variables that thread pools read when they start (set by the command line's ``--threads``).
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS")
#: The pools besides torch's own OpenMP one (numpy/scipy BLAS, numba for UMAP and HVG).
OTHER_POOLS = ("MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS")

F = TypeVar("F", bound=Callable[..., Any])


class Settings:
    """Package-wide settings, as ``scconcepts.settings``.

    Attributes
    ----------
    threads
        CPU threads for torch in every tool; ``None`` (default) chooses by problem size and CPU count.

    """

    def __init__(self) -> None:
        self._threads: int | None = None

    @property
    def threads(self) -> int | None:
        """CPU threads for torch (``None``: automatic)."""
        return self._threads

    @threads.setter
    def threads(self, value: int | None) -> None:
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ValueError(f"threads must be a positive integer or None, got {value!r}")
        self._threads = value


settings = Settings()


def cpu_count() -> int:
    """CPUs this process may run on (its affinity mask, else the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _runnable() -> int | None:
    """Tasks running or ready to run on the machine now (``/proc/loadavg``; ``None`` off Linux)."""
    try:
        with open("/proc/loadavg", encoding="ascii") as handle:
            return int(handle.read().split()[3].split("/")[0])
    except (OSError, ValueError, IndexError):
        return None


def free_cpus(*, samples: int = 5, interval: float = 0.01) -> int:
    """CPUs not taken by other processes: the CPUs minus the median count of other runnable tasks.

    The count of runnable tasks is read a few times (``samples``, ``interval`` seconds apart) because it
    changes from moment to moment; this process's reading thread is not counted. Off Linux, the
    one-minute load average stands in for it.
    """
    cpus = cpu_count()
    counts = []
    for i in range(samples):
        value = _runnable()
        if value is None:
            break
        counts.append(value - 1)
        if i + 1 < samples:
            time.sleep(interval)
    if counts:
        busy = sorted(counts)[len(counts) // 2]
    else:
        try:
            busy = round(os.getloadavg()[0])
        except OSError:
            busy = 0
    return max(1, min(cpus, cpus - busy))


def _from_environment() -> int | None:
    value = os.environ.get("OMP_NUM_THREADS", "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


def choose_threads(work: float) -> int:
    """Threads for matrix products of ``work`` multiply-adds (see the module docstring for the rules).

    The same work on the same machine always gets the same count, whatever else the machine is running,
    so that a seed gives the same result on a busy machine as on an idle one.
    """
    if settings.threads is not None:
        return settings.threads
    fixed = _from_environment()
    if fixed is not None:
        return fixed
    return max(1, min(int(work // MAC_PER_THREAD), cpu_count()))


def passive_waiting() -> None:
    """Ask OpenMP (torch's, MKL's and scikit-learn's threads) to let waiting threads sleep instead of spinning.

    Sets ``OMP_WAIT_POLICY=PASSIVE`` unless the user set the variable. OpenMP reads it when it starts, so it
    takes effect when this runs before torch is imported: ``import scconcepts`` runs it.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@contextmanager
def torch_threads(n: int) -> Iterator[int]:
    """Run the block with ``n`` torch intra-op threads, then restore the previous count."""
    import torch

    before = torch.get_num_threads()
    if n != before:
        torch.set_num_threads(n)
    try:
        yield n
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


def threads_by_size(work: Callable[[dict[str, Any]], float]) -> Callable[[F], F]:
    """Decorate a tool so it runs with :func:`choose_threads` torch threads for its problem size.

    The tool also runs with torch's deterministic algorithms (:func:`~scconcepts._reproducible.deterministic`),
    so that on a GPU too the same seed gives the same result.

    Parameters
    ----------
    work
        Maps the tool's arguments (by name, defaults filled in) to the multiply-adds of its largest
        matrix product per step; an error there means "small" (one thread).

    """

    def decorate(func: F) -> F:
        signature = inspect.signature(func)

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                bound = signature.bind(*args, **kwargs)
                bound.apply_defaults()
                size = float(work(bound.arguments))
            except Exception:  # the tool itself reports bad arguments
                size = 0.0
            n = choose_threads(size)
            logger.debug("%s: %d torch thread(s) for %.3g multiply-adds per product", func.__name__, n, size)
            with torch_threads(n), deterministic():
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def _set_pool_variables(n: int, names: tuple[str, ...], *, keep_users: bool) -> None:
    """Set thread-pool variables to ``n``; numba's only before numba starts (it refuses a change later)."""
    for name in names:
        if keep_users and os.environ.get(name):
            continue
        if name == "NUMBA_NUM_THREADS" and "numba" in sys.modules:
            import numba

            numba.set_num_threads(max(1, min(n, numba.config.NUMBA_NUM_THREADS)))
            continue
        os.environ[name] = str(n)


def apply_to_environment(n: int) -> None:
    """Fix every thread pool of this process to ``n`` threads (torch, BLAS, numba) before they start.

    The command line calls this for ``--threads`` before importing any numerical library, so the
    pools that read their size from the environment at start-up (numpy's BLAS, numba) follow too.
    """
    settings.threads = n
    _set_pool_variables(n, THREAD_VARIABLES, keep_users=False)


def limit_other_pools() -> int:
    """Size the BLAS and numba pools (UMAP, HVG, classifiers) to the CPUs free now, unless the user sized them.

    torch is left to :func:`choose_threads`, call by call. Returns the size given.
    """
    n = free_cpus()
    _set_pool_variables(n, OTHER_POOLS, keep_users=True)
    return n


#: Cells per SAE training step and hidden width assumed for encoders whose size is unknown.
SAE_BATCH = 256
HIDDEN = 128
SCVI_BATCH = 128
SCVI_GENES = 2000


def sae_work(arguments: dict[str, Any]) -> float:
    """Multiply-adds of an SAE step's encoder product (``train_sae``'s or ``evaluate``'s arguments)."""
    from scconcepts._keys import params_key

    adata = arguments["adata"]
    if arguments.get("use_rep") in adata.obsm:
        dim, expansion = adata.obsm[arguments["use_rep"]].shape[1], arguments.get("expansion", 4)
    else:
        params = adata.uns[params_key(arguments.get("key", "concepts"))]["params"]
        dim, expansion = int(params["embedding_dim"]), int(params["expansion"])
    return SAE_BATCH * dim * dim * expansion


def encoder_work(arguments: dict[str, Any]) -> float:
    """Multiply-adds of an encoder's first layer per batch (``embed``'s or ``attribute``'s arguments)."""
    adata = arguments["adata"]
    if arguments.get("model") == "scvi":
        genes = min(adata.n_vars, arguments.get("options", {}).get("n_top_genes", SCVI_GENES))
        return SCVI_BATCH * genes * HIDDEN
    return arguments.get("batch_size", SAE_BATCH) * adata.n_vars * HIDDEN
