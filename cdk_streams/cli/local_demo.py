"""``cdk-streams local demo``: the sample app in the local cloud, a day of orders through it."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from .errors import CliError


def add_parser(local_commands: Any, parents: list[argparse.ArgumentParser]) -> None:
    demo = local_commands.add_parser(
        "demo",
        parents=parents,
        help="deploy the sample app into the local cloud with the CDK CLI and stream a day of "
        "orders through it (what `make demo` runs)",
    )
    demo.add_argument("--app-dir", default=".", help="directory with cdk.json (default: .)")
    demo.add_argument(
        "--verbose", action="store_true", help="show the handler's whole log (default: quiet)"
    )
    demo.set_defaults(run=run)


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    """Deploy the sample app into the local cloud, stream a day of orders, report."""
    from ..local.demo import run_demo

    app_dir = Path(args.app_dir).resolve()
    if not (app_dir / "cdk.json").is_file():
        raise CliError(f"--app-dir {app_dir} has no cdk.json")
    started = time.monotonic()
    result = run_demo(
        app_dir,
        out=lambda line: print(line, flush=True),
        progress=_progress,
        verbose=args.verbose,
    )
    _progress(f"demo finished in {time.monotonic() - started:.1f} s; emulator stopped")
    return 0 if result.lost == 0 else 1
