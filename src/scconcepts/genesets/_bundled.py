"""Gene-set libraries that ship inside the ``blitzgsea`` wheel (Enrichr GMT files), read offline."""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

from scconcepts._errors import InputError
from scconcepts.genesets._gmt import read_gmt
from scconcepts.genesets._sets import GeneSets

#: Libraries known to ship in the wheel's ``data`` folder.
BUNDLED = ("GO_Biological_Process_2023", "KEGG_2021_Human")


def _data_dir() -> Path:
    spec = importlib.util.find_spec("blitzgsea")  # locate the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise InputError("the bundled gene-set libraries need the blitzgsea package; run `pip install blitzgsea`")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def bundled_libraries() -> list[str]:
    """Return the names of the libraries present in the installed ``blitzgsea`` wheel."""
    folder = _data_dir()
    return sorted(p.name for p in folder.iterdir() if p.is_file() and p.suffix == "" and not p.name.startswith("."))


@lru_cache(maxsize=8)
def bundled_library(name: str) -> GeneSets:
    """Read a library that ships with ``blitzgsea`` (e.g. ``GO_Biological_Process_2023``), without network.

    GO terms keep their ``GO:`` ids as term ids; other libraries use the set name.
    """
    path = _data_dir() / name
    if not path.is_file():
        raise InputError(
            f"gene-set library {name!r} is not bundled here; choose one of {', '.join(bundled_libraries())}, "
            "a .gmt file or 'go_bp'"
        )
    return read_gmt(path, source=name)
