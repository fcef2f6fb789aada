"""The ``--app-dir`` option of the commands that run a CDK app, and its synth."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from typing import TextIO

from ..cdk_cli import CdkCliError, find_cdk
from .errors import CliError
from .output import progress


def add_app_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--app-dir", default=".", help="directory with cdk.json (default: .)")


def checked_app_dir(args: argparse.Namespace) -> Path:
    """The CDK app's directory, resolved; a usage error when it holds no ``cdk.json``."""
    path = Path(args.app_dir).resolve()
    if not (path / "cdk.json").is_file():
        raise CliError(f"--app-dir {path} has no cdk.json; pass your CDK app's directory")
    return path


def synthesize(app_dir: Path, out_dir: str | Path, *, stdout: TextIO | None = None) -> None:
    """``cdk synth`` of the app into ``out_dir`` with the CDK CLI users already have.

    The CLI's own output is kept, and shown only when the synth fails: on
    success it is noise ("Successfully synthesized to ...", "Supply a stack id
    ...") around the command's result.

    :param stdout: where the announcement goes. @default None: this process's
        stdout; pass ``sys.stderr`` when stdout carries a result of its own (JSON).
    :raises CliError: the synth failed; the message carries the CLI's output,
        which the error line reduces to its most telling line.
    """
    # The app's `python3` is this interpreter's, as for the local cloud: the one
    # cdk-streams is installed in, even when its virtualenv is not activated.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env = {**os.environ, "PATH": path, "CDK_DISABLE_VERSION_CHECK": "1"}
    try:
        cli = find_cdk(app_dir, env, progress=progress)
    except CdkCliError as error:
        raise CliError(str(error)) from None
    print(f"synthesizing {app_dir} with the CDK CLI ...", file=stdout or sys.stdout, flush=True)
    done = subprocess.run(
        [*cli.command, "synth", "--quiet", "--output", str(out_dir)],
        cwd=app_dir,
        env=cli.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    )
    if done.returncode != 0:
        raise CliError(
            f"`cdk synth` in {app_dir} failed with exit status {done.returncode}:\n{done.stdout}"
        )
