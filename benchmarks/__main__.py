"""Run every benchmark: ``python -m benchmarks [NAME ...]`` (names like ``sae`` select ``bench_sae``)."""

from __future__ import annotations

import logging
import sys
import time
from importlib import import_module
from pathlib import Path

logger = logging.getLogger("benchmarks")


def main(argv: list[str]) -> int:
    """Run the selected (default: all) ``bench_*`` modules' ``main()`` one after another."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    available = sorted(path.stem for path in Path(__file__).parent.glob("bench_*.py"))
    wanted = [f"bench_{name.removeprefix('bench_')}" for name in argv] or available
    unknown = sorted(set(wanted) - set(available))
    if unknown:
        logger.error("unknown benchmarks %s; available: %s", unknown, ", ".join(available))
        return 2
    for name in wanted:
        start = time.perf_counter()
        logger.info("== %s ==", name)
        import_module(f"benchmarks.{name}").main()
        logger.info("== %s done in %.0f s ==", name, time.perf_counter() - start)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
