"""scconcepts: find the biological concepts a single-cell model has learned, and explain them.

The submodules (``ds``, ``models``, ``pl``, ``sae``, ``tl``) are imported on first use, so that
``import scconcepts`` and the command line start without loading torch or anndata.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from scconcepts._reproducible import deterministic_cublas
from scconcepts._threads import passive_waiting
from scconcepts._version import __version__

# before torch starts: OpenMP threads sleep instead of spinning on a busy CPU, cuBLAS products are deterministic
passive_waiting()
deterministic_cublas()

#: Submodules reachable as attributes of the package (``scc.tl.embed``), imported when first touched.
LAZY_SUBMODULES = ("ds", "models", "pl", "sae", "tl")

if TYPE_CHECKING:
    from scconcepts import ds, models, pl, sae, tl
    from scconcepts._threads import settings

__all__ = ["__version__", "ds", "models", "pl", "sae", "settings", "tl"]


def __getattr__(name: str) -> Any:
    if name in LAZY_SUBMODULES:
        return importlib.import_module(f"scconcepts.{name}")
    if name == "settings":
        return importlib.import_module("scconcepts._threads").settings
    raise AttributeError(f"module 'scconcepts' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
