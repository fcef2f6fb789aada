"""How long `cdk-streams local up` takes to become ready on tests/fixtures/shapes_app
(four stacks, three functions and mappings): seconds from the start of the command
to its `export AWS_ENDPOINT_URL=` line, and from SIGINT to its exit.

Anchor: a plain `cdk synth` of the same app in the same run, the floor any local
deploy of it pays.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "tests" / "fixtures" / "shapes_app"
CDK = REPO / "node_modules" / ".bin" / "cdk"


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "CDK_VALIDATION": "false",
        "CDK_DISABLE_VERSION_CHECK": "1",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }


def synth_seconds() -> float:
    with tempfile.TemporaryDirectory(prefix="bench-synth-") as out:
        started = time.monotonic()
        subprocess.run(
            [str(CDK), "synth", "--quiet", "--no-notices", "--output", out],
            cwd=APP,
            env=_env(),
            check=True,
            capture_output=True,
        )
        return time.monotonic() - started


def up_seconds() -> tuple[float, float]:
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "cdk_streams.cli", "local", "up", "--app-dir", str(APP)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=_env(),
    )
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("export AWS_ENDPOINT_URL="):
            break
    ready = time.monotonic() - started
    stopping = time.monotonic()
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=120)
    return ready, time.monotonic() - stopping


def main() -> None:
    synth = synth_seconds()
    ready, stop = up_seconds()
    print(f"cdk synth (anchor):        {synth:6.1f} s")
    print(f"local up, ready:           {ready:6.1f} s  ({ready / synth:.2f} x synth)")
    print(f"local up, SIGINT to exit:  {stop:6.1f} s")


if __name__ == "__main__":
    main()
