"""Same seed, same result: torch's deterministic algorithms around every step that trains or encodes.

On the CPU, torch's operations give the same bits for the same inputs and thread count (the thread
count is fixed per machine, see :mod:`scconcepts._threads`). On a GPU, some operations (cuBLAS
products with a split workspace, atomic-add scatters) may add in another order from run to run;
:func:`deterministic` asks torch for its deterministic versions, and only warns where an operation
has none. A CPU and a GPU still give different last bits, which training amplifies.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

#: cuBLAS workspace that makes its products deterministic (read when torch first uses cuBLAS).
CUBLAS_WORKSPACE = ":4096:8"


def deterministic_cublas() -> None:
    """Set ``CUBLAS_WORKSPACE_CONFIG`` for deterministic cuBLAS products, unless the user set it.

    cuBLAS reads it when torch first uses it on a GPU, so ``import scconcepts`` runs this.
    """
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE)


@contextmanager
def deterministic() -> Iterator[None]:
    """Run the block (or, as a decorator, the function) with ``torch.use_deterministic_algorithms``.

    ``warn_only``: an operation without a deterministic version warns instead of failing (unless the user
    already asked torch to fail there). The previous setting is restored afterwards.
    """
    import torch

    before = torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()
    deterministic_cublas()
    torch.use_deterministic_algorithms(True, warn_only=before[1] or not before[0])
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before[0], warn_only=before[1])
