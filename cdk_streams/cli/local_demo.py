"""``cdk-streams local demo``: the sample app in the local cloud, a day of orders through it."""

from __future__ import annotations

import argparse
import time
from typing import Any

from .app_dir import add_app_dir_option, checked_app_dir
from .output import out, progress


def add_parser(local_commands: Any, parents: list[argparse.ArgumentParser]) -> None:
    demo = local_commands.add_parser(
        "demo",
        parents=parents,
        help="deploy the sample app into the local cloud with the CDK CLI and stream a day of "
        "orders through it (what `make demo` runs)",
    )
    add_app_dir_option(demo)
    demo.add_argument(
        "--verbose", action="store_true", help="show the handler's whole log (default: quiet)"
    )
    demo.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Deploy the sample app into the local cloud, stream a day of orders, report."""
    from ..local.demo import run_demo

    app_dir = checked_app_dir(args)
    started = time.monotonic()
    result = run_demo(
        app_dir,
        out=out,
        progress=progress,
        verbose=args.verbose,
    )
    progress(f"demo finished in {time.monotonic() - started:.1f} s; emulator stopped")
    return 0 if result.lost == 0 else 1
