"""The ``cdk-streams`` command line."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .summary import summarize_assembly


def _synth_summary(args: argparse.Namespace) -> int:
    """Synthesize the app with the real CDK CLI and print what it would deploy."""
    app_dir = Path(args.app_dir).resolve()
    npx = shutil.which("npx")
    if npx is None:
        raise SystemExit("cdk-streams: npx not found; run `make demo`, which installs Node")
    with tempfile.TemporaryDirectory(prefix="cdk-streams-synth-") as out:
        print(f"synthesizing {app_dir / 'app.py'} with the CDK CLI ...", flush=True)
        subprocess.run(
            [npx, "--no-install", "cdk", "synth", "--quiet", "--output", out],
            cwd=app_dir,
            check=True,
            env={**os.environ, "CDK_DISABLE_VERSION_CHECK": "1"},
        )
        for line in summarize_assembly(out):
            print(line)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cdk-streams",
        description="DynamoDB Streams change data capture with the AWS CDK.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    summary = commands.add_parser(
        "summary", help="synthesize a CDK app and summarize its tables, functions and mappings"
    )
    summary.add_argument("--app-dir", default=".", help="directory with cdk.json (default: .)")
    summary.set_defaults(run=_synth_summary)

    local = commands.add_parser("local", help="run the pipeline locally, without AWS or Docker")
    local_commands = local.add_subparsers(dest="local_command", required=True)
    demo = local_commands.add_parser("demo", help="what `make demo` runs")
    demo.add_argument("--app-dir", default=".", help="directory with cdk.json (default: .)")
    demo.set_defaults(run=_synth_summary)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
