"""``scconcepts serve DIR``: open the web explorer of a results folder."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``serve`` subcommand."""
    parser = subparsers.add_parser(
        "serve",
        help="browse, judge and label the concepts of a results folder in a web browser",
        description=(
            "Serve the web explorer of a results folder (localhost only unless --host is given). "
            "A server reachable from other machines (--host 0.0.0.0, a LAN address...) asks for an access "
            "token: open the address it prints, which carries the token once and then keeps it in a cookie."
        ),
    )
    parser.add_argument("folder", metavar="DIR", help="results folder written by `scconcepts run`")
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)"
    )
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (default: 8000)")
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="another host name to answer to, e.g. a reverse proxy's or a DNS alias (repeatable)",
    )
    parser.set_defaults(func=_handle)


def _handle(args: argparse.Namespace) -> int:
    from scconcepts._errors import InputError
    from scconcepts.app import serve
    from scconcepts.app._security import new_token
    from scconcepts.app._server import explorer_urls, needs_token
    from scconcepts.cli._failure import step
    from scconcepts.results import read_manifest

    if not 0 < args.port < 65536:
        raise InputError(f"--port {args.port} is not a port number; use 1-65535")
    read_manifest(args.folder)  # a wrong folder is reported before anything is printed
    token = new_token() if needs_token(args.host) else None
    first, *others = explorer_urls(args.host, args.port, token)
    print(f"scconcepts explorer: open {first} in a browser (Ctrl+C to stop)", flush=True)
    for url in others:
        print(f"  or {url}", flush=True)
    if token is not None:
        print("  anyone with this address can read and annotate the results; keep the token to yourself", flush=True)
    with step("serving the explorer"):
        serve(args.folder, host=args.host, port=args.port, token=token, allow_hosts=args.allow_host)
    return 0
