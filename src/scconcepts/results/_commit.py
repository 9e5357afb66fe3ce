"""All-or-nothing changes of a results folder: stage, write a journal, apply; recover after a crash.

A command that changes a folder writes every new entry into a staging folder inside it
(``.scconcepts.partial-<pid>/``), together with the new manifest. It then writes the journal
``.commit.json`` there: from that moment the change is decided. Applying it moves each replaced
entry aside (into the staging folder), moves the staged one in, performs renames, and switches the
manifest last. Every step can be repeated, so a process that dies at any point leaves either the
old state (no journal: the staging folder is swept) or a journal that the next command finishes
(:func:`recover`). Applying happens under the exclusive commit lock, so readers holding it shared
see one state or the other, never a mix.

Set ``SCCONCEPTS_KILL_AT`` to the name of a checkpoint (see :data:`CHECKPOINTS`) to make the
process kill itself there (``SCCONCEPTS_STOP_AT``: stop until it gets SIGCONT); the tests use them
to prove the folder stays consistent and that a second writer is refused.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
from pathlib import Path
from typing import Any

from scconcepts.results._lock import commit_lock, release, try_writer_lock

logger = logging.getLogger(__name__)

#: The manifest that makes a folder a results folder; a commit switches it last.
MANIFEST = "scconcepts.json"
STAGING_PREFIX = ".scconcepts.partial-"
DEFERRED_SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}
JOURNAL = ".commit.json"
REPLACED = ".replaced"
VIEW = ".view"
KILL_ENV = "SCCONCEPTS_KILL_AT"
STOP_ENV = "SCCONCEPTS_STOP_AT"
#: Where ``SCCONCEPTS_KILL_AT`` can stop a commit: files staged, journal written, first entry moved, manifest switched.
CHECKPOINTS = ("staged", "committed", "applying", "applied")


def checkpoint(name: str) -> None:
    """SIGKILL (``$SCCONCEPTS_KILL_AT``) or SIGSTOP (``$SCCONCEPTS_STOP_AT``) this process at checkpoint ``name``."""
    if os.environ.get(KILL_ENV) == name:
        logger.warning("%s=%s: killing this process", KILL_ENV, name)
        os.kill(os.getpid(), signal.SIGKILL)
    if os.environ.get(STOP_ENV) == name:
        logger.warning("%s=%s: stopping this process until SIGCONT", STOP_ENV, name)
        os.kill(os.getpid(), signal.SIGSTOP)


def staging_folder(folder: Path) -> Path:
    """Create and return an empty staging folder for this process inside ``folder``."""
    staging = folder / f"{STAGING_PREFIX}{os.getpid()}"
    remove(staging)
    staging.mkdir()
    return staging


def remove(path: Path) -> None:
    """Remove a file, link or folder if it exists."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _fsync_tree(root: Path) -> None:
    """Flush every file and folder under ``root`` to disk (so that a journal never points at lost data)."""
    for path in [root, *root.rglob("*")]:
        if path.is_symlink():
            continue
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _fsync_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def commit(
    folder: Path,
    staging: Path,
    *,
    manifest: dict[str, Any],
    remove_names: list[str] = (),  # type: ignore[assignment]
    renames: list[tuple[str, str]] = (),  # type: ignore[assignment]
) -> None:
    """Commit the entries staged in ``staging`` to ``folder`` with ``manifest`` (the caller holds the writer lock).

    Parameters
    ----------
    folder
        The results folder.
    staging
        Its staging folder, holding the new entries (any name but the manifest).
    manifest
        The complete new manifest (written last).
    remove_names
        Entries of ``folder`` to remove.
    renames
        ``(old, new)`` entry names to rename in ``folder`` (e.g. annotations of another dictionary).

    """
    replace = sorted(p.name for p in staging.iterdir() if p.name not in {MANIFEST, JOURNAL, REPLACED, VIEW})
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    _fsync_tree(staging)
    checkpoint("staged")
    removed = sorted(set(remove_names) - set(replace))
    plan = {"replace": replace, "remove": removed, "rename": [list(r) for r in renames]}
    # a stop signal (Ctrl+C, SIGTERM) waits until the commit is applied: it takes milliseconds
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, DEFERRED_SIGNALS)
    try:
        _fsync_write(staging / JOURNAL, json.dumps(plan))
        checkpoint("committed")
        _apply(folder, staging)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


def _apply(folder: Path, staging: Path) -> None:
    """Carry out the journal of ``staging`` (again, if a crash interrupted it) and remove the staging folder."""
    plan = json.loads((staging / JOURNAL).read_text(encoding="utf-8"))
    replaced = staging / REPLACED
    replaced.mkdir(exist_ok=True)
    with commit_lock(folder, shared=False):
        for name in plan["remove"]:
            if (folder / name).exists() or (folder / name).is_symlink():
                remove(replaced / name)
                os.replace(folder / name, replaced / name)
        for old, new in plan["rename"]:
            if (folder / old).exists():
                os.replace(folder / old, folder / new)
        for name in plan["replace"]:
            if not (staging / name).exists() and not (staging / name).is_symlink():
                continue  # moved in before a crash
            if (folder / name).exists() or (folder / name).is_symlink():
                remove(replaced / name)
                os.replace(folder / name, replaced / name)
            os.replace(staging / name, folder / name)
            checkpoint("applying")
        if (staging / MANIFEST).exists():
            os.replace(staging / MANIFEST, folder / MANIFEST)
    checkpoint("applied")
    shutil.rmtree(staging, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stale(name: str, prefix: str) -> bool:
    suffix = name[len(prefix) :]
    return not (suffix.isdigit() and int(suffix) != os.getpid() and _pid_alive(int(suffix)))


def sweep(folder: Path) -> None:
    """Finish committed changes and remove stale staging entries of ``folder`` (the caller holds the writer lock).

    Removed: staging folders without a journal, ``.NAME.partial-PID`` files of older versions whose
    process is gone, and ``.FOLDER.partial-*`` folders beside ``folder`` left by older versions.
    """
    for path in sorted(folder.glob(".*.partial-*")):
        if path.name.startswith(STAGING_PREFIX) and path.is_dir():
            if (path / JOURNAL).is_file():
                logger.warning("finishing a change of %s that an interrupted command had committed", folder)
                _apply(folder, path)
            else:
                logger.info("removing %s, left by an interrupted command", path.name)
                shutil.rmtree(path, ignore_errors=True)
        elif _stale(path.name, path.name[: path.name.index(".partial-") + len(".partial-")]):
            logger.info("removing %s, left by an interrupted command", path.name)
            remove(path)
    prefix = f".{folder.name}.partial-"
    try:
        siblings = sorted(folder.parent.glob(f"{glob_escape(prefix)}*"))
    except OSError:
        siblings = []
    for path in siblings:
        if _stale(path.name, prefix):
            logger.info("removing %s, left beside %s by an interrupted command", path, folder.name)
            try:
                remove(path)
            except OSError as error:
                logger.warning("cannot remove %s: %s", path, error)


def glob_escape(text: str) -> str:
    """Escape the glob metacharacters of ``text``."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def recover(folder: Path) -> None:
    """Finish a change that a dead process committed, and sweep what dead processes left in ``folder``.

    A no-op when nothing was left, or while a live writer holds the folder (it finishes its own
    commit). Every command calls this when it opens a folder.
    """
    try:
        left = any(folder.glob(".*.partial-*"))
    except OSError:
        return
    if not left:
        return
    fd = try_writer_lock(folder)
    if fd is None:
        return
    try:
        sweep(folder)
    finally:
        release(fd)
