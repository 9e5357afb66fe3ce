"""The results folder: recognised by its manifest, changed only by whole commits, never touching others' files.

Every change goes through a staging folder and a journal (see :mod:`scconcepts.results._commit`),
under a writer lock that lets one command at a time change a folder
(:mod:`scconcepts.results._lock`). After a ``kill -9`` at any moment the folder holds either the
state before the command or the state after it; the next command that opens it finishes or
sweeps what was left.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scconcepts._errors import InputError
from scconcepts.results._commit import (
    JOURNAL,
    MANIFEST,
    REPLACED,
    STAGING_PREFIX,
    VIEW,
    commit,
    recover,
    remove,
    staging_folder,
    sweep,
)
from scconcepts.results._lock import LOCK_FILE, commit_lock, describe_os_error, writer_lock

logger = logging.getLogger(__name__)

RESULTS_H5AD = "results.h5ad"
METRICS_JSON = "metrics.json"
EVALUATION_JSON = "evaluation.json"
ANNOTATIONS_JSON = "annotations.json"
MODEL_DIR = "model"
SAE_DIR = "sae"
SAE_WEIGHTS = "model.safetensors"
MAX_NAME_BYTES = 255


def _internal(name: str) -> bool:
    """Entries scconcepts keeps for itself (lock, staging folders): hidden, never listed in the manifest."""
    return name == LOCK_FILE or name.startswith(STAGING_PREFIX)


def check_path(path: str | Path, what: str) -> Path:
    """Return ``path`` as an absolute path, or raise :class:`InputError` if no file system could hold it."""
    path = Path(os.path.abspath(path))
    for part in path.parts:
        if len(part.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES:
            raise InputError(
                f"{what} has a name of {len(part.encode('utf-8', 'surrogateescape'))} bytes ({part[:40]}...); "
                f"file systems allow {MAX_NAME_BYTES}: choose a shorter name"
            )
    if len(os.fsencode(path)) >= os.pathconf("/", "PC_PATH_MAX"):
        raise InputError(f"{what} is a path of {len(os.fsencode(path))} bytes, longer than the system allows")
    return path


def is_results_folder(path: str | Path) -> bool:
    """Return whether ``path`` is a folder that scconcepts wrote (it holds the manifest)."""
    try:
        return (Path(path) / MANIFEST).is_file()
    except OSError:
        return False


def _parse_manifest(path: Path) -> dict[str, Any]:
    file = path / MANIFEST
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read {file}: {error}; rerun `scconcepts run` to rewrite the folder") from None
    try:
        manifest = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(
            f"{file} is damaged (line {error.lineno}, column {error.colno}: {error.msg}); "
            "restore it or rerun `scconcepts run --overwrite`"
        ) from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files", []), list):
        raise InputError(f"{file} is damaged (not an scconcepts manifest); restore it or rerun `scconcepts run`")
    return manifest


def read_manifest(path: str | Path) -> dict[str, Any]:
    """Return the manifest of a results folder, or raise :class:`InputError` if it is not one (or is damaged).

    A change that a killed command had committed but not finished is finished first.
    """
    path = check_path(path, "the results folder")
    try:
        exists, is_dir = path.exists(), path.is_dir()
    except OSError as error:
        raise InputError(f"cannot open results folder {path}: {describe_os_error(error)}") from None
    if not exists:
        raise InputError(f"results folder {path} does not exist; create it with `scconcepts run`")
    if not is_dir:
        raise InputError(f"{path} is a file, not a results folder; give the folder `scconcepts run` wrote")
    recover(path)
    if not is_results_folder(path):
        hint = " (it holds an interrupted run)" if any(_internal(p.name) for p in path.iterdir()) else ""
        raise InputError(
            f"{path} is not an scconcepts results folder (no {MANIFEST}){hint}; create it with `scconcepts run`"
        )
    return _parse_manifest(path)


@contextmanager
def reading(folder: str | Path) -> Iterator[dict[str, Any]]:
    """Read a results folder in one consistent state: yield its manifest while no commit is applied."""
    manifest = read_manifest(folder)
    with commit_lock(Path(folder), shared=True):
        yield manifest


def dictionary_id(folder: str | Path, manifest: dict[str, Any] | None = None) -> str | None:
    """The id of the concept dictionary of a results folder (annotations are bound to it).

    ``manifest["dictionary_id"]`` when recorded, else a hash of ``sae/model.safetensors`` (folders
    of older versions), else ``None``.
    """
    folder = Path(folder)
    manifest = _parse_manifest(folder) if manifest is None else manifest
    recorded = manifest.get("dictionary_id")
    if isinstance(recorded, str) and recorded:
        return recorded
    return _weights_hash(folder / SAE_DIR / SAE_WEIGHTS)


def _weights_hash(path: Path) -> str | None:
    if not path.is_file():
        return None
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def _new_manifest(files: list[str], info: dict[str, Any]) -> dict[str, Any]:
    manifest = {"tool": "scconcepts", "written": datetime.now(UTC).isoformat(timespec="seconds"), **info}
    manifest["files"] = sorted(set(files))
    return manifest


def _staged(staging: Path) -> list[str]:
    return sorted(p.name for p in staging.iterdir() if p.name not in {MANIFEST, JOURNAL, REPLACED, VIEW})


def _refuse_existing(out: Path, overwrite: bool) -> None:
    if not out.is_dir():
        raise InputError(f"--out {out} exists and is not a folder; choose another path")
    if is_results_folder(out):
        if not overwrite:
            raise InputError(f"--out {out} already holds scconcepts results; pass --overwrite to replace them")
        _parse_manifest(out)  # a damaged manifest does not say which files are ours
    elif any(not _internal(p.name) for p in out.iterdir()):
        raise InputError(f"--out {out} exists and was not written by scconcepts; choose a new or empty folder")


def _create(out: Path) -> bool:
    """Create ``out`` (and its parents); return whether this call created it."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.mkdir()
    except FileExistsError:
        if out.is_dir():
            return False
        if out.exists():
            raise InputError(f"--out {out} exists and is not a folder; choose another path") from None
        raise InputError(f"cannot create --out {out}: a part of the path is a file, not a folder") from None
    except OSError as error:
        raise InputError(f"cannot create --out {out}: {describe_os_error(error)}") from None
    return True


def _unique_aside(out: Path, stem: str) -> str:
    name, n = f"{stem}.json", 2
    while (out / name).exists():
        name, n = f"{stem}-{n}.json", n + 1
    return name


@contextmanager
def new_results_folder(
    out: str | Path, *, overwrite: bool = False, info: dict[str, Any] | None = None
) -> Iterator[Path]:
    """Yield a staging folder to write results into; commit them to ``out`` only when the block succeeds.

    ``out`` must not exist, or be empty, or be an scconcepts results folder and ``overwrite`` be
    set; a folder that scconcepts did not write is refused. ``out`` is locked for the whole block
    (a second command on it is refused). On overwrite only the entries listed in the old manifest
    are replaced or removed: files the user put there are kept, except that ``annotations.json``,
    which belongs to the old concepts, is moved aside to ``annotations.<old dictionary id>.json``.

    Parameters
    ----------
    out
        Destination folder.
    overwrite
        Replace the results of an earlier run in ``out``.
    info
        Extra fields for the manifest (command, options...).

    """
    out = check_path(out, "--out")
    if out.exists():
        recover(out)
        _refuse_existing(out, overwrite)
    created = _create(out)
    staging: Path | None = None
    locked = False
    try:
        with writer_lock(out):
            locked = True
            sweep(out)
            _refuse_existing(out, overwrite)
            old = _parse_manifest(out) if is_results_folder(out) else None
            staging = staging_folder(out)
            (staging / MANIFEST).write_text(json.dumps(_new_manifest([], info or {})), encoding="utf-8")
            yield staging
            written = _staged(staging)
            weights = staging / SAE_DIR / SAE_WEIGHTS
            new_id = _weights_hash(weights) or uuid.uuid4().hex[:16]
            manifest = _new_manifest(written, {**(info or {}), "dictionary_id": new_id})
            renames = []
            if old is not None and (out / ANNOTATIONS_JSON).is_file():
                old_id = dictionary_id(out, old) or "previous"
                aside = _unique_aside(out, f"annotations.{old_id}")
                renames.append((ANNOTATIONS_JSON, aside))
                logger.warning(
                    "the annotations of the previous concepts were moved to %s: concept ids now belong to a new "
                    "dictionary, so they are not applied to it",
                    out / aside,
                )
            removed = [name for name in (old or {}).get("files", []) if name not in written]
            commit(out, staging, manifest=manifest, remove_names=removed, renames=renames)
        logger.info("results written to %s", out)
    except BaseException:
        if staging is not None and not (staging / JOURNAL).exists():
            remove(staging)
        if created and locked and all(_internal(p.name) for p in out.iterdir()):
            remove(out / LOCK_FILE)
            out.rmdir()
        raise


@contextmanager
def update_results_folder(folder: str | Path) -> Iterator[Path]:
    """Lock a results folder and yield a staging folder; commit every entry written there together.

    Entries written into the staging folder replace those of the same name when the block
    succeeds; nothing changes if it fails or the process dies before the commit. The caller should
    read what it needs inside the block, so that no other command changes it in between.
    """
    folder = check_path(folder, "the results folder")
    manifest = read_manifest(folder)
    with writer_lock(folder):
        sweep(folder)
        manifest = _parse_manifest(folder)
        staging = staging_folder(folder)
        try:
            yield staging
            written = _staged(staging)
            for name in written:
                if (folder / name).exists() and name not in manifest.get("files", []):
                    raise InputError(
                        f"{folder / name} was not written by scconcepts; move it away before adding {name}"
                    )
            keep = {k: v for k, v in manifest.items() if k not in {"tool", "written", "files"}}
            new = _new_manifest([*manifest.get("files", []), *written], keep)
            commit(folder, staging, manifest=new)
        except BaseException:
            if not (staging / JOURNAL).exists():
                remove(staging)
            raise


@contextmanager
def future_state(folder: str | Path, staging: Path) -> Iterator[Path]:
    """Yield a folder that shows ``folder`` as it will be once ``staging`` is committed (to render a report).

    It holds links to the staged entries and, for the rest, to the folder's; it is removed after the block.
    """
    folder = Path(folder)
    view = staging / VIEW
    remove(view)
    view.mkdir()
    try:
        for entry in sorted({p.name for p in folder.iterdir()} | set(_staged(staging)) | {MANIFEST}):
            if entry.startswith("."):
                continue
            target = staging / entry if (staging / entry).exists() else folder / entry
            if target.exists():
                (view / entry).symlink_to(target.resolve())
        yield view
    finally:
        remove(view)


def add_to_results(folder: str | Path, name: str, write: Callable[[Path], None]) -> None:
    """Write (or replace) the entry ``name`` of an existing results folder atomically.

    ``write`` receives a path in a staging folder and must create the file or folder there; it is
    then committed and recorded in the manifest. Nothing changes if it fails.
    """
    with update_results_folder(folder) as staging:
        write(staging / name)


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


def os_error_message(error: OSError, what: str) -> str:
    """One line for an ``OSError`` met while reading or writing ``what``."""
    if error.errno == errno.ENAMETOOLONG:
        return f"{what}: {describe_os_error(error)}; choose a shorter name"
    return f"{what}: {describe_os_error(error)}"
