"""``scconcepts serve DIR``: open the web explorer of a results folder."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``serve`` subcommand."""
    parser = subparsers.add_parser(
        "serve",
        help="browse, judge and label the concepts of a results folder in a web browser",
        description="Serve the web explorer of a results folder (localhost only unless --host is given).",
    )
    parser.add_argument("folder", metavar="DIR", help="results folder written by `scconcepts run`")
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)"
    )
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (default: 8000)")
    parser.set_defaults(func=_handle)


def _handle(args: argparse.Namespace) -> int:
    from scconcepts._errors import InputError
    from scconcepts.app import serve
    from scconcepts.results import read_manifest

    if not 0 < args.port < 65536:
        raise InputError(f"--port {args.port} is not a port number; use 1-65535")
    read_manifest(args.folder)  # a wrong folder is reported before anything is printed
    print(f"scconcepts explorer: open http://{args.host}:{args.port}/ in a browser (Ctrl+C to stop)")
    serve(args.folder, host=args.host, port=args.port)
    return 0
