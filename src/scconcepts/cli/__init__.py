"""The ``scconcepts`` command: one module per subcommand, each with a ``register(subparsers)``."""

from __future__ import annotations

import argparse
import logging
import sys
from importlib import import_module

from scconcepts._errors import ScconceptsError
from scconcepts._threads import apply_to_environment, limit_other_pools
from scconcepts._version import __version__
from scconcepts.cli._failure import forget_steps, report_failure
from scconcepts.cli._signals import Interrupted, stop_on_signals

#: Subcommand modules under ``scconcepts.cli``; each defines ``register(subparsers)``.
SUBCOMMANDS = [
    "_run",
    "_embed",
    "_info",
    "_serve",
    "_attribute",
    "_report",
    "_enrich",
    "_evaluate",
    "_steer",
    "_apply",
    "_export",
    "_layers",
]

#: Subcommands that never load a model: they skip :func:`quiet_libraries` (which imports scvi-tools) to start fast.
LIGHT_COMMANDS = frozenset({"info", "serve", "report", "export"})
#: commands that write nothing, so an interruption has nothing to clean up
READ_ONLY_COMMANDS = frozenset({"info", "serve"})

EXIT_USER_ERROR = 2
THREADS_HELP = (
    "CPU threads for torch, BLAS and numba (default: torch by problem size, at most the CPUs; BLAS and numba the "
    "CPUs left free)"
)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(prog="scconcepts", description="Find and explain the concepts of cell models.")
    parser.add_argument("--version", action="version", version=f"scconcepts {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debugging details")
    parser.add_argument("--threads", type=_threads_count, default=None, metavar="N", help=THREADS_HELP)
    parser.add_argument("--debug", action="store_true", help="show the traceback of an unexpected error")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMANDS:
        import_module(f"scconcepts.cli.{name}").register(subparsers)
    for subparser in subparsers.choices.values():  # also after the subcommand: scconcepts run --threads 1 ...
        subparser.add_argument(
            "--threads", type=_threads_count, default=argparse.SUPPRESS, metavar="N", help=THREADS_HELP
        )
        subparser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return parser


def _threads_count(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"must be a positive number of threads, got {value!r}")
    return int(value)


def quiet_libraries() -> None:
    """Keep the libraries' chatter (seeds set, GPUs absent, tips, deprecations) out of the command's output."""
    import warnings

    for module in ("lightning", "pytorch_lightning", "scvi", "anndata", "torch"):
        warnings.filterwarnings("ignore", module=module)
    import scvi  # imports lightning, which attaches its own loggers

    scvi.settings.verbosity = logging.WARNING
    for name in list(logging.root.manager.loggerDict):
        if name.split(".")[0] in {"lightning", "lightning_fabric", "pytorch_lightning", "scvi", "anndata", "h5py"}:
            logging.getLogger(name).setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    """Run the command line.

    A user mistake prints one line on stderr and returns exit code 2; an unexpected error prints
    one line naming the step and a log file with the traceback, and returns 1 (``--debug`` raises it).
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    forget_steps()
    if args.threads is not None:
        apply_to_environment(args.threads)  # before torch, numpy's BLAS or numba start their pools
    elif args.command not in LIGHT_COMMANDS:
        limit_other_pools()
    if args.command not in LIGHT_COMMANDS:
        quiet_libraries()
    try:
        with stop_on_signals():
            return int(args.func(args) or 0)
    except ScconceptsError as error:
        print(f"scconcepts {args.command}: error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except Interrupted as stop:
        cleaned = "" if args.command in READ_ONLY_COMMANDS else "; unfinished results were removed"
        print(f"scconcepts {args.command}: {stop}{cleaned}", file=sys.stderr)
        return stop.exit_status
    except KeyboardInterrupt:
        print("scconcepts: interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        if args.debug:
            raise
        return report_failure(args.command, argv, error)


if __name__ == "__main__":
    sys.exit(main())
