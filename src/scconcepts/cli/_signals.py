"""Stop cleanly on SIGTERM / SIGINT / SIGHUP: unwind (temporary results removed) and exit with 128 + signal.

A batch scheduler that kills a job must see it fail. Lightning, which scVI trains with, installs its
own SIGTERM handler that ends training with ``SystemExit`` (exit status 0) and turns Ctrl+C into
``sys.exit(1)``; raising :class:`Interrupted`, which is neither, from our handler passes through both.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

#: Signals that stop a command.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


class Interrupted(BaseException):
    """The command received a stop signal; ``exit_status`` is 128 + its number, as shells report it.

    A ``BaseException`` so that no ``except Exception`` on the way out swallows it.
    """

    def __init__(self, signum: int) -> None:
        self.signum = int(signum)
        self.name = signal.Signals(signum).name
        super().__init__(f"interrupted by {self.name}")

    @property
    def exit_status(self) -> int:
        """128 + the signal number (143 for SIGTERM, 130 for SIGINT)."""
        return 128 + self.signum


def _raise(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signum)


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Within the block, a stop signal raises :class:`Interrupted`; the previous handlers come back after."""
    previous = {}
    for signum in STOP_SIGNALS:
        try:
            previous[signum] = signal.signal(signum, _raise)
        except ValueError:  # not the main thread: leave signals to whoever owns them
            break
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
