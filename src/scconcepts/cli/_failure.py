"""What the command line says when something fails: the step it was in, and a log of the traceback.

A user mistake (:class:`~scconcepts._errors.ScconceptsError`) is one line and exit code 2. An
unexpected error is one line too, naming the step that failed and a log file holding the full
traceback (``--debug`` shows it instead), and exit code 1.
"""

from __future__ import annotations

import errno
import logging
import os
import sys
import tempfile
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

logger = logging.getLogger(__name__)

EXIT_INTERNAL_ERROR = 1
LOG_DIR_ENV = "SCCONCEPTS_LOG_DIR"
#: ``OSError`` numbers that come from the user's files or disks, not from a bug: one line, exit 2.
USER_OS_ERRORS = {
    errno.EACCES,
    errno.EPERM,
    errno.EROFS,
    errno.ENOSPC,
    errno.EDQUOT,
    errno.ENAMETOOLONG,
    errno.ENOTDIR,
    errno.EISDIR,
    errno.ENOENT,
}

_steps: list[str] = []
_failed_in: list[str] = []  # the innermost step an exception left, until the next command starts


@contextmanager
def step(name: str) -> Iterator[None]:
    """Name the step that the command is in (said if an unexpected error happens inside it)."""
    _steps.append(name)
    try:
        yield
    except BaseException:
        if not _failed_in:
            _failed_in.append(name)
        raise
    finally:
        _steps.pop()


def forget_steps() -> None:
    """Start a new command: no step entered, none failed."""
    _steps.clear()
    _failed_in.clear()


def current_step() -> str:
    """The step an exception left, else the innermost step entered (``"starting"`` when none)."""
    if _failed_in:
        return _failed_in[0]
    return _steps[-1] if _steps else "starting"


def log_dir() -> Path:
    """Folder of the failure logs: ``$SCCONCEPTS_LOG_DIR``, else ``logs/`` in the scconcepts cache folder."""
    configured = os.environ.get(LOG_DIR_ENV)
    if configured:
        return Path(configured).expanduser()
    from scconcepts.ds._cache import cache_dir

    return cache_dir() / "logs"


def write_failure_log(command: str, argv: list[str], error: BaseException) -> Path | None:
    """Write the command line, the step and the traceback of ``error`` into a new log file; return its path."""
    from scconcepts._version import __version__

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    text = (
        f"scconcepts {__version__}, {datetime.now(UTC).isoformat(timespec='seconds')}\n"
        f"command: scconcepts {' '.join(argv)}\nstep: {current_step()}\n\n" + "".join(traceback.format_exception(error))
    )
    for folder in (log_dir(), Path(tempfile.gettempdir()) / "scconcepts-logs"):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{command}-{stamp}-{os.getpid()}.log"
            path.write_text(text, encoding="utf-8")
            return path
        except OSError:
            continue
    return None


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0][:300]}" if text else type(error).__name__


def is_user_os_error(error: BaseException) -> bool:
    """Whether ``error`` is an ``OSError`` caused by the user's files or disk (permissions, space, names)."""
    return isinstance(error, OSError) and error.errno in USER_OS_ERRORS


def report_failure(command: str, argv: list[str], error: Exception) -> int:
    """Say in one line on stderr what failed and where the traceback is; return the exit code."""
    from scconcepts.results._lock import describe_os_error

    path = write_failure_log(command, argv, error)
    where = f"traceback in {path}; --debug shows it" if path else "--debug shows the traceback"
    if is_user_os_error(error):
        assert isinstance(error, OSError)
        name = f" {error.filename}" if error.filename else ""
        print(f"scconcepts {command}: error while {current_step()}:{name}: {describe_os_error(error)}", file=sys.stderr)
        return 2
    print(
        f"scconcepts {command}: internal error while {current_step()} ({_first_line(error)}); {where}",
        file=sys.stderr,
    )
    return EXIT_INTERNAL_ERROR
