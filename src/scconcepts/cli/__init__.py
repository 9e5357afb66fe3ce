"""The ``scconcepts`` command: one module per subcommand, each with a ``register(subparsers)``."""

from __future__ import annotations

import argparse
import logging
import sys
from importlib import import_module

from scconcepts import __version__
from scconcepts._errors import ScconceptsError
from scconcepts.cli._signals import Interrupted, stop_on_signals

#: Subcommand modules under ``scconcepts.cli``; each defines ``register(subparsers)``.
SUBCOMMANDS = ["_run", "_embed", "_info", "_serve", "_attribute", "_report", "_enrich", "_evaluate"]

EXIT_USER_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(prog="scconcepts", description="Find and explain the concepts of cell models.")
    parser.add_argument("--version", action="version", version=f"scconcepts {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debugging details")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMANDS:
        import_module(f"scconcepts.cli.{name}").register(subparsers)
    return parser


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
    """Run the command line; user mistakes print one line on stderr and return exit code 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    quiet_libraries()
    try:
        with stop_on_signals():
            return int(args.func(args) or 0)
    except ScconceptsError as error:
        print(f"scconcepts {args.command}: error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except Interrupted as stop:
        print(f"scconcepts {args.command}: {stop}; unfinished results were removed", file=sys.stderr)
        return stop.exit_status
    except KeyboardInterrupt:
        print("scconcepts: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
