"""Running the real CDK CLI (``cdk bootstrap``, ``cdk synth``, ``cdk deploy``) as a
subprocess, with its output kept for the error message when a step fails.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from ..cdk_cli import CdkCliError

#: Receives progress messages of long steps.
Progress = Callable[[str], None]


class CdkDriver:
    """Runs one CDK CLI command line with a fixed environment.

    :param command: the CLI (``[path/to/cdk]`` or ``[npx, --no-install, cdk]``).
    :param env: the whole environment of the CLI process.
    :param timeout: seconds per step. @default 600.
    :param progress: receives "step: done in N s". @default - none.
    """

    def __init__(
        self,
        command: Sequence[str],
        env: Mapping[str, str],
        *,
        timeout: float = 600.0,
        progress: Progress | None = None,
    ) -> None:
        self.command = list(command)
        self.env = dict(env)
        self.timeout = timeout
        self._progress = progress or (lambda message: None)
        self._lock = threading.Lock()
        self._running: set[subprocess.Popen[str]] = set()
        self._cancelled = False

    def run(self, args: Sequence[str], *, cwd: Path | None, step: str) -> str:
        """Run ``cdk ARGS --no-notices`` in ``cwd``; its output, or :class:`CdkCliError`."""
        command = [*self.command, *args, "--no-notices"]
        started = time.monotonic()
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            # Its own process group: the CLI runs node, which runs the app, which
            # starts jsii's node; ending the step must end all of them.
            start_new_session=True,
        )
        with self._lock:
            self._running.add(process)
        try:
            output, _ = process.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired as error:
            raise CdkCliError(f"{step}: `cdk {args[0]}` took over {self.timeout:.0f} s") from error
        finally:
            with self._lock:
                self._running.discard(process)
            if process.poll() is None:  # interrupted, or timed out
                _end(process)
        if self._cancelled:
            raise CdkCliError(f"{step}: `cdk {args[0]}` was cancelled")
        if process.returncode != 0:
            tail = "\n".join((output or "").strip().splitlines()[-25:])
            raise CdkCliError(
                f"{step}: `cdk {' '.join(args)}` failed with exit code {process.returncode}:"
                f"\n{tail}"
            )
        self._progress(f"{step}: done in {time.monotonic() - started:.1f} s")
        return output or ""

    def cancel(self) -> None:
        """End every CLI process still running (another thread's step, on Ctrl-C)."""
        self._cancelled = True
        with self._lock:
            running = list(self._running)
        for process in running:
            _end(process)

    def bootstrap(self, environment: str, *, cwd: Path) -> None:
        """``cdk bootstrap aws://ACCOUNT/REGION``, run in ``cwd``.

        Run it outside the app directory: in a directory with cdk.json, the CLI
        would synthesize the app again and write to its cdk.out.
        """
        self.run(["bootstrap", environment], cwd=cwd, step="bootstrap")

    def synth(self, app_dir: Path, out: Path, context: Mapping[str, str]) -> None:
        """``cdk synth`` of the app in ``app_dir`` into ``out`` (never the app's cdk.out)."""
        self.run(
            ["synth", "--quiet", "--output", str(out), *_context_args(context)],
            cwd=app_dir,
            step="synth",
        )

    def deploy(
        self, app_dir: Path, assembly: Path, stacks: Sequence[str], outputs_file: Path
    ) -> None:
        """``cdk deploy`` of an already synthesized assembly; ``stacks`` empty means all."""
        self.run(
            [
                "deploy",
                *(stacks or ["--all"]),
                "--app",
                str(assembly),
                "--require-approval",
                "never",
                "--outputs-file",
                str(outputs_file),
                "--output",
                str(assembly / "deploy.out"),
            ],
            cwd=app_dir,
            step="deploy",
        )


def _end(process: subprocess.Popen[str]) -> None:
    """End a CLI process and everything it started (its process group)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)
    # What ignored SIGTERM, or outlived the CLI itself (the app, jsii's node).
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _context_args(context: Mapping[str, str]) -> list[str]:
    args: list[str] = []
    for key, value in context.items():
        args += ["--context", f"{key}={value}"]
    return args
