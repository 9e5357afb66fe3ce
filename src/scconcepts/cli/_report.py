"""``scconcepts report DIR``: write the self-contained ``report.html`` of a results folder."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``report`` subcommand."""
    parser = subparsers.add_parser(
        "report",
        help="write report.html (catalogue and a card per concept) into a results folder",
        description="Write a self-contained report.html that opens in a browser without a server.",
    )
    parser.add_argument("folder", metavar="DIR", help="results folder written by `scconcepts run`")
    parser.add_argument("--max-concepts", type=int, default=None, help="cards for the first N concepts only")
    parser.set_defaults(func=_handle)


def _handle(args: argparse.Namespace) -> int:
    from scconcepts._errors import InputError
    from scconcepts.cli._failure import step
    from scconcepts.report import write_report

    if args.max_concepts is not None and args.max_concepts < 0:
        raise InputError(f"--max-concepts {args.max_concepts} is negative; give 0 or more")
    with step("writing the report"):
        path = write_report(args.folder, max_concepts=args.max_concepts)
    print(f"report written to {path}")
    return 0
