"""The stream package stands on its own: importing any of its modules loads no
moto, no CDK (jsii) and nothing from cdk_streams.local or cdk_streams.consumer."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).parent.parent / "cdk_streams" / "streams"
FORBIDDEN = ("moto", "aws_cdk", "jsii", "constructs", "cdk_streams.local", "cdk_streams.consumer")


def test_the_stream_package_imports_nothing_above_it() -> None:
    modules = sorted(
        f"cdk_streams.streams.{p.stem}" for p in PACKAGE.glob("*.py") if p.stem != "__init__"
    )
    assert "cdk_streams.streams.delivery" in modules
    code = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    loaded = json.loads(out)
    leaked = [m for m in loaded if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)]
    assert leaked == []
