"""Locks of a results folder: one writer at a time, and readers that never see a half-applied commit.

Two ``flock`` locks, both released by the kernel when their process dies (a ``kill -9`` never
leaves a folder locked):

* the *writer lock*, on ``.scconcepts.lock`` inside the folder, is held for the whole of a
  command that changes the folder (``run``, ``attribute``, ``enrich``, ``evaluate``, ``report``);
  a second writer is refused at once with a message naming the first one's process;
* the *commit lock*, on the folder itself, is held exclusively for the few renames that apply a
  commit and shared by readers while they read (the explorer's annotation store takes it too).
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from scconcepts._errors import InputError

logger = logging.getLogger(__name__)

LOCK_FILE = ".scconcepts.lock"

_held: dict[Path, int] = {}  # folder -> depth of the writer lock this process holds (it is re-entrant)
_held_guard = threading.Lock()


def _lock_holder(path: Path) -> str:
    try:
        pid = path.read_text().strip()
    except OSError:
        return ""
    return f" (process {pid})" if pid.isdigit() else ""


def _open_lock_file(folder: Path) -> int:
    path = folder / LOCK_FILE
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        raise InputError(f"cannot lock {folder} for writing: {describe_os_error(error)}") from None


@contextmanager
def writer_lock(folder: str | Path) -> Iterator[None]:
    """Hold the writer lock of ``folder`` (an existing folder); refuse if another process holds it.

    Re-entrant within a process: a command that holds it may call functions that take it again.

    Raises
    ------
    InputError
        When another process is writing the folder, or the lock file cannot be created.

    """
    folder = Path(folder).resolve()
    with _held_guard:
        if _held.get(folder):
            _held[folder] += 1
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield
        finally:
            with _held_guard:
                _held[folder] -= 1
        return
    fd = _acquire(folder)
    with _held_guard:
        _held[folder] = 1
    try:
        yield
    finally:
        with _held_guard:
            _held.pop(folder, None)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _acquire(folder: Path) -> int:
    path = folder / LOCK_FILE
    while True:
        fd = _open_lock_file(folder)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise InputError(
                f"{folder} is being written by another scconcepts command{_lock_holder(path)}; "
                "wait for it to finish or choose another folder"
            ) from None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:  # not a lock file that its holder removed while we waited for it
            os.ftruncate(fd, 0)
            os.write(fd, str(os.getpid()).encode())
            return fd
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def holds_writer_lock(folder: str | Path) -> bool:
    """Return whether this process holds the writer lock of ``folder``."""
    with _held_guard:
        return bool(_held.get(Path(folder).resolve()))


def try_writer_lock(folder: Path) -> int | None:
    """Take the writer lock without waiting; return its descriptor, or ``None`` if a live process holds it."""
    if holds_writer_lock(folder):
        return None
    try:
        return _acquire(folder)
    except InputError:
        return None


def release(fd: int) -> None:
    """Release a lock taken by :func:`try_writer_lock`."""
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


@contextmanager
def commit_lock(folder: str | Path, *, shared: bool) -> Iterator[None]:
    """Hold the commit lock of ``folder``: exclusive to apply a commit, shared to read a consistent state."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def describe_os_error(error: OSError) -> str:
    """Say in words what an ``OSError`` from creating or writing a path means for the user."""
    reasons = {
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.EROFS: "the file system is read-only",
        errno.ENOTDIR: "a part of the path is a file, not a folder",
        errno.ENAMETOOLONG: "a name in the path is longer than the file system allows (255 bytes)",
        errno.ENOSPC: "no space left on the device",
        errno.EDQUOT: "disk quota exceeded",
        errno.EEXIST: "it already exists",
        errno.ENOENT: "no such file or folder",
    }
    return reasons.get(error.errno or 0, error.strerror or str(error))
