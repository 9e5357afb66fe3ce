"""Peak resident memory of this process and every process it started (dask workers included)."""

from __future__ import annotations

import threading

import psutil


class TreeRss:
    """Sample the summed RSS of this process and its descendants every 50 ms; ``peak`` in GiB.

    Use as a context manager around one stage; ``peak`` is the largest sum seen inside it.
    """

    def __enter__(self) -> TreeRss:
        self._root = psutil.Process()
        self.peak = self._sample()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._sample())

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, self._sample())

    def _sample(self) -> float:
        total = 0
        for process in [self._root, *self._root.children(recursive=True)]:
            try:
                total += process.memory_info().rss
            except psutil.Error:  # a worker that ended between listing and reading
                continue
        return total / 2**30
