"""The results folder: created atomically, recognised by its manifest, never touching files it did not write."""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scconcepts._errors import InputError

logger = logging.getLogger(__name__)

MANIFEST = "scconcepts.json"
RESULTS_H5AD = "results.h5ad"
METRICS_JSON = "metrics.json"
EVALUATION_JSON = "evaluation.json"
MODEL_DIR = "model"
SAE_DIR = "sae"


def is_results_folder(path: str | Path) -> bool:
    """Return whether ``path`` is a folder that scconcepts wrote (it holds the manifest)."""
    return (Path(path) / MANIFEST).is_file()


def read_manifest(path: str | Path) -> dict[str, Any]:
    """Return the manifest of a results folder, or raise :class:`InputError` if it is not one."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"results folder {path} does not exist; create it with `scconcepts run`")
    if not is_results_folder(path):
        raise InputError(f"{path} is not an scconcepts results folder (no {MANIFEST}); create it with `scconcepts run`")
    return json.loads((path / MANIFEST).read_text())


def _entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name != MANIFEST)


def _write_manifest(folder: Path, files: list[str], info: dict[str, Any]) -> None:
    manifest = {"tool": "scconcepts", "written": datetime.now(UTC).isoformat(timespec="seconds"), **info}
    manifest["files"] = sorted(set(files))
    atomic_write_text(folder / MANIFEST, json.dumps(manifest, indent=2))


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


@contextmanager
def new_results_folder(
    out: str | Path, *, overwrite: bool = False, info: dict[str, Any] | None = None
) -> Iterator[Path]:
    """Yield a temporary folder to write results into; move them to ``out`` only when the block succeeds.

    ``out`` must not exist, or be an scconcepts results folder and ``overwrite`` be set; an existing
    folder that scconcepts did not write is refused. On overwrite only the entries listed in the old
    manifest are replaced or removed: files the user put there are kept.

    Parameters
    ----------
    out
        Destination folder.
    overwrite
        Replace the results of an earlier run in ``out``.
    info
        Extra fields for the manifest (command, options...).

    """
    out = Path(out).resolve()
    if out.exists():
        if not out.is_dir():
            raise InputError(f"--out {out} exists and is not a folder; choose another path")
        if not is_results_folder(out) and any(out.iterdir()):
            raise InputError(f"--out {out} exists and was not written by scconcepts; choose a new or empty folder")
        if is_results_folder(out) and not overwrite:
            raise InputError(f"--out {out} already holds scconcepts results; pass --overwrite to replace them")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        yield tmp
        written = _entries(tmp)
        out.mkdir(exist_ok=True)
        old = read_manifest(out).get("files", []) if is_results_folder(out) else []
        if old:
            (out / MANIFEST).unlink()  # the folder no longer looks complete while entries are swapped
        for name in old:
            _remove(out / name)
        for name in written:
            _remove(out / name)
            os.replace(tmp / name, out / name)
        _write_manifest(out, written, info or {})
        logger.info("results written to %s", out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def add_to_results(folder: str | Path, name: str, write: Callable[[Path], None]) -> None:
    """Write (or replace) the entry ``name`` of an existing results folder atomically.

    ``write`` receives a temporary path next to the destination and must create the file or folder
    there; it is then renamed into place and recorded in the manifest. Nothing changes if it fails.
    """
    folder = Path(folder)
    manifest = read_manifest(folder)
    target = folder / name
    if target.exists() and name not in manifest.get("files", []):
        raise InputError(f"{target} was not written by scconcepts; move it away before adding {name}")
    tmp = folder / f".{name}.partial-{os.getpid()}"
    _remove(tmp)
    try:
        write(tmp)
        if target.is_dir():
            _remove(target)
        os.replace(tmp, target)
    finally:
        _remove(tmp)
    files = sorted({*manifest.get("files", []), name})
    _write_manifest(folder, files, {k: v for k, v in manifest.items() if k not in {"tool", "written", "files"}})


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename (never a half-written file)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes files private; results are ordinary files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
