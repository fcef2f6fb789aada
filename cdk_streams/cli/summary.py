"""``cdk-streams summary``: synthesize an app with the CDK CLI and say what it would deploy."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from ..summary import summarize_assembly
from .errors import CliError


def add_parser(commands: Any, parents: list[argparse.ArgumentParser]) -> None:
    summary = commands.add_parser(
        "summary",
        parents=parents,
        help="synthesize a CDK app and summarize its tables, functions and mappings",
    )
    summary.add_argument("--app-dir", default=".", help="directory with cdk.json (default: .)")
    summary.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Synthesize the app with the real CDK CLI and print what it would deploy."""
    app_dir = Path(args.app_dir).resolve()
    if not (app_dir / "cdk.json").is_file():
        raise CliError(f"--app-dir {app_dir} has no cdk.json; pass your CDK app's directory")
    npx = shutil.which("npx")
    if npx is None:
        raise CliError("npx not found; install Node.js 22 or newer and the CDK CLI (npm i aws-cdk)")
    with tempfile.TemporaryDirectory(prefix="cdk-streams-synth-") as out:
        print(f"synthesizing {app_dir / 'app.py'} with the CDK CLI ...", flush=True)
        done = subprocess.run(
            [npx, "--no-install", "cdk", "synth", "--quiet", "--output", out],
            cwd=app_dir,
            env={**os.environ, "CDK_DISABLE_VERSION_CHECK": "1"},
        )
        if done.returncode != 0:
            raise CliError(
                f"`cdk synth` failed with exit code {done.returncode}; its output is above"
            )
        for line in summarize_assembly(out):
            print(line)
    return 0
