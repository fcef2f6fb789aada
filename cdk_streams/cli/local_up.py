"""``cdk-streams local up``: deploy any CDK app into a local cloud and keep its
stream mappings running, with each function's log; Ctrl-C stops it."""

from __future__ import annotations

import argparse
from typing import Any

from .app_dir import add_app_dir_option, checked_app_dir
from .errors import CliError
from .output import out, progress


def add_parser(local_commands: Any, parents: list[argparse.ArgumentParser]) -> None:
    up = local_commands.add_parser(
        "up",
        parents=parents,
        help="deploy every stack of a CDK app into a local cloud and run its stream mappings "
        "until Ctrl-C, showing each function's log",
    )
    add_app_dir_option(up)
    up.add_argument(
        "-c",
        "--context",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a CDK context value for the synth (repeatable), as `cdk -c`",
    )
    up.add_argument(
        "--watch",
        action="store_true",
        help="reload a function's code when a file under its handler_dir changes",
    )
    up.add_argument(
        "--port", type=int, default=0, help="the local cloud's port (default: a free one)"
    )
    up.set_defaults(run=run)


def parse_context(pairs: list[str]) -> dict[str, str]:
    """``-c key=value`` pairs as a dict; a pair without ``=`` is a usage error."""
    context = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CliError(f"-c takes KEY=VALUE, got {pair!r}")
        context[key] = value
    return context


def run(args: argparse.Namespace) -> int:
    from ..local.up import LocalUp

    app_dir = checked_app_dir(args)
    if not 0 <= args.port <= 65535:
        raise CliError(f"--port must be 0..65535, got {args.port}")
    session = LocalUp(
        app_dir,
        context=parse_context(args.context),
        port=args.port,
        watch=args.watch,
        out=out,
        progress=progress,
    )
    return session.run()
