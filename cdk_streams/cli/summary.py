"""``cdk-streams summary``: synthesize an app with the CDK CLI and say what it would deploy."""

from __future__ import annotations

import argparse
import tempfile
from typing import Any

from ..summary import summarize_assembly
from .app_dir import add_app_dir_option, checked_app_dir, synthesize


def add_parser(commands: Any, parents: list[argparse.ArgumentParser]) -> None:
    summary = commands.add_parser(
        "summary",
        parents=parents,
        help="synthesize a CDK app and summarize its tables, functions and mappings",
    )
    add_app_dir_option(summary)
    summary.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Synthesize the app with the real CDK CLI and print what it would deploy."""
    app_dir = checked_app_dir(args)
    with tempfile.TemporaryDirectory(prefix="cdk-streams-synth-") as out:
        synthesize(app_dir, out)
        for line in summarize_assembly(out):
            print(line)
    return 0
