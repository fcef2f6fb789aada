"""The CDK CLI driver's own paths, with stand-in commands instead of the CDK CLI."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest

from cdk_streams.local.cdk_driver import CdkCliError, CdkDriver

PYTHON = [sys.executable, "-c"]


def test_a_failing_step_shows_the_end_of_its_output(tmp_path: Path) -> None:
    driver = CdkDriver(
        [*PYTHON, "import sys; print('line 1'); print('the app broke'); sys.exit(3)"],
        dict(os.environ),
    )
    with pytest.raises(CdkCliError) as error:
        driver.run(["synth"], cwd=tmp_path, step="synth")
    assert str(error.value) == "synth: `cdk synth` failed with exit code 3:\nline 1\nthe app broke"


def test_cancel_ends_a_step_running_in_another_thread(tmp_path: Path) -> None:
    started = tmp_path / "started"
    script = f"import pathlib, time; pathlib.Path({str(started)!r}).touch(); time.sleep(600)"
    driver = CdkDriver([*PYTHON, script], dict(os.environ))
    failures: list[BaseException] = []

    def bootstrap() -> None:
        try:
            driver.run(["bootstrap"], cwd=tmp_path, step="bootstrap")
        except CdkCliError as error:
            failures.append(error)

    thread = threading.Thread(target=bootstrap)
    thread.start()
    while not started.exists() and thread.is_alive():
        threading.Event().wait(0.02)
    driver.cancel()
    thread.join()
    assert [str(f) for f in failures] == ["bootstrap: `cdk bootstrap` was cancelled"]


def test_a_step_that_takes_too_long_is_ended(tmp_path: Path) -> None:
    driver = CdkDriver([*PYTHON, "import time; time.sleep(600)"], dict(os.environ), timeout=0.2)
    with pytest.raises(CdkCliError, match=r"deploy: `cdk deploy` took over 0 s"):
        driver.run(["deploy"], cwd=tmp_path, step="deploy")
