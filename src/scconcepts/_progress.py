"""Progress of long steps that reads well both in a terminal and in a log file.

In a terminal (or a notebook) :func:`progress` is an ordinary ``tqdm.auto`` bar. When stderr is not a
terminal (a batch job's log, ``| tee``, CI) and logging is set up, a carriage-return bar would pile up
into one unreadable line, so the same object writes one log line at most every :data:`LOG_INTERVAL`
seconds instead:
``training scVI: 12/400 epochs (3%), 0:00:45 elapsed, ETA 0:24:10 [val_loss=...]``.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from tqdm.auto import tqdm as _auto_tqdm
from tqdm.std import tqdm as _std_tqdm

logger = logging.getLogger("scconcepts.progress")

#: Seconds between two log lines of a progress bar when stderr is not a terminal.
LOG_INTERVAL = float(os.environ.get("SCCONCEPTS_PROGRESS_INTERVAL", "30"))


def _duration(seconds: float) -> str:
    return str(timedelta(seconds=round(seconds)))


class _Discard:
    """A stream that drops what tqdm writes directly (newlines, carriage returns)."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        """Nothing to flush."""


class LogProgress(_std_tqdm):
    """A ``tqdm`` that writes newline-terminated log lines (elapsed time and ETA) instead of redrawing a bar."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["mininterval"] = max(float(kwargs.get("mininterval") or 0), LOG_INTERVAL)
        kwargs["miniters"] = 0
        kwargs["dynamic_ncols"] = False
        kwargs["file"] = _Discard()  # every line goes through logging, nothing straight to the stream
        super().__init__(*args, **kwargs)

    def status(self) -> str:
        """One line: what, how far, how long so far and how long to go."""
        unit = self.unit if self.unit != "it" else "steps"
        unit = unit if unit.endswith("s") else f"{unit}s"
        elapsed = self._time() - self.start_t if hasattr(self, "start_t") else 0.0
        if self.total:
            share = self.n / self.total
            eta = elapsed / self.n * (self.total - self.n) if self.n else float("nan")
            eta_text = _duration(eta) if eta == eta else "?"
            text = f"{self.n}/{self.total} {unit} ({share:.0%}), {_duration(elapsed)} elapsed, ETA {eta_text}"
        else:
            text = f"{self.n} {unit}, {_duration(elapsed)} elapsed"
        postfix = f" [{self.postfix}]" if self.postfix else ""
        return f"{self.desc.rstrip(': ') or 'progress'}: {text}{postfix}"

    def display(self, msg: str | None = None, pos: int | None = None) -> bool:
        """Log the status line (tqdm calls this when the bar would be redrawn)."""
        if self.n == getattr(self, "_last_logged", None):
            return True
        self._last_logged = self.n
        logger.info(self.status())
        return True


def _is_terminal() -> bool:
    stream = sys.stderr
    if "ipykernel" in sys.modules:  # a notebook: tqdm.auto draws a widget
        return True
    return bool(getattr(stream, "isatty", lambda: False)())


def progress(iterable: Iterable[Any] | None = None, **kwargs: Any) -> Any:
    """A progress bar for ``iterable`` (same arguments as ``tqdm``): a bar in a terminal, log lines otherwise.

    Parameters
    ----------
    iterable
        What to iterate over; ``None`` for a bar advanced with ``update``.
    **kwargs
        ``tqdm`` options (``desc``, ``total``, ``unit``, ``disable``...).

    Returns
    -------
    A ``tqdm`` object.

    """
    # a log line only reaches the user where logging is set up (the command line, a configured script)
    logged = logger.isEnabledFor(logging.INFO) and logger.hasHandlers()
    cls = _auto_tqdm if _is_terminal() or not logged else LogProgress
    return cls(iterable, **kwargs)
