"""The operations stand on the stream package: importing any of their modules loads no
moto, no CDK (jsii) and nothing from cdk_streams.local or cdk_streams.consumer, so
redrive and backfill run anywhere boto3 does."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).parent.parent / "cdk_streams" / "operations"
FORBIDDEN = ("moto", "aws_cdk", "jsii", "constructs", "cdk_streams.local", "cdk_streams.consumer")


def test_the_operations_import_nothing_they_must_not() -> None:
    modules = sorted(
        f"cdk_streams.operations.{p.stem}" for p in PACKAGE.glob("*.py") if p.stem != "__init__"
    )
    assert "cdk_streams.operations.redrive" in modules
    assert "cdk_streams.operations.backfill" in modules
    code = (
        "import importlib, json, sys\n"
        f"for name in {[*modules, 'cdk_streams.cli.redrive', 'cdk_streams.cli.backfill']!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    loaded = json.loads(out)
    leaked = [m for m in loaded if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)]
    assert leaked == []
    assert "cdk_streams.streams.partial_batch" in loaded  # the one partial-batch rule
