"""``cdk-streams summary``: synthesize an app with the CDK CLI and say what it would deploy."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from ..cdk_cli import CdkCliError, find_cdk
from ..summary import summarize_assembly
from .app_dir import add_app_dir_option, checked_app_dir
from .errors import CliError
from .output import progress


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
    # The app's `python3` is this interpreter's, as for the local cloud: the one
    # cdk-streams is installed in, even when its virtualenv is not activated.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env = {**os.environ, "PATH": path, "CDK_DISABLE_VERSION_CHECK": "1"}
    try:
        cli = find_cdk(app_dir, env, progress=progress)
    except CdkCliError as error:
        raise CliError(str(error)) from None
    with tempfile.TemporaryDirectory(prefix="cdk-streams-synth-") as out:
        print(f"synthesizing {app_dir / 'app.py'} with the CDK CLI ...", flush=True)
        done = subprocess.run(
            [*cli.command, "synth", "--quiet", "--output", out], cwd=app_dir, env=cli.env
        )
        if done.returncode != 0:
            raise CliError(
                f"`cdk synth` in {app_dir} failed with exit status {done.returncode} "
                "(its output is above)"
            )
        for line in summarize_assembly(out):
            print(line)
    return 0
