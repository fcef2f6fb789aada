"""The ``--app-dir`` option of the commands that run a CDK app."""

from __future__ import annotations

import argparse
from pathlib import Path

from .errors import CliError


def add_app_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--app-dir", default=".", help="directory with cdk.json (default: .)")


def checked_app_dir(args: argparse.Namespace) -> Path:
    """The CDK app's directory, resolved; a usage error when it holds no ``cdk.json``."""
    path = Path(args.app_dir).resolve()
    if not (path / "cdk.json").is_file():
        raise CliError(f"--app-dir {path} has no cdk.json; pass your CDK app's directory")
    return path
