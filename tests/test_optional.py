"""A missing optional dependency is one line naming the extra that installs it.

Each case runs in a subprocess with the module blocked (``sys.modules[name] =
None`` makes any import of it fail), as in a venv without the extra.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cdk_streams.optional import MissingExtraError, require
from tests.conftest import REPO


def _run(
    code: str, *args: str, cwd: Path = REPO, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def test_require_names_the_extra_without_a_chained_cause() -> None:
    with pytest.raises(MissingExtraError) as error:
        require("cdk_streams_no_such_module.sub", "local", "the local cloud")
    assert str(error.value) == (
        "cdk-streams: the local cloud needs cdk_streams_no_such_module: "
        "pip install 'cdk-streams[local]'"
    )
    assert error.value.__cause__ is None and error.value.__suppress_context__
    assert isinstance(error.value, ImportError)


def test_require_returns_the_module() -> None:
    assert require("json", "local", "x").dumps([1]) == "[1]"


def test_local_cloud_without_moto_is_one_line_and_stop_is_quiet() -> None:
    done = _run(
        """
        import sys
        sys.modules["moto"] = None
        from cdk_streams.local import LocalCloud
        cloud = LocalCloud()
        try:
            cloud.start()
        except ImportError as error:
            print(type(error).__name__, error.__cause__, error.__context__, sep="|")
            print(error)
        cloud.stop()
        cloud.stop()
        print("stopped")
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "MissingExtraError|None|None",
        "cdk-streams: the local cloud needs moto: pip install 'cdk-streams[local]'",
        "stopped",
    ]


def test_the_cli_without_moto_prints_one_line_and_exits_2() -> None:
    done = _run(
        """
        import sys
        sys.modules["moto"] = None
        from cdk_streams.cli import main
        sys.exit(main(sys.argv[1:]))
        """,
        "local",
        "demo",
        "--app-dir",
        str(REPO),
    )
    assert done.returncode == 2
    assert (
        done.stderr
        == "cdk-streams local demo: the local cloud needs moto: pip install 'cdk-streams[local]'\n"
    )


def test_snapshot_fixture_without_syrupy_names_the_testing_extra(tmp_path: Path) -> None:
    (tmp_path / "test_stack.py").write_text("def test_it(snapshot):\n    assert 1 == snapshot\n")
    done = _run(
        """
        import sys
        sys.modules["syrupy"] = None
        import pytest
        sys.exit(pytest.main(["-q", "-rN", "-p", "no:cacheprovider",
                              "-p", "cdk_streams.pytest_plugin", "test_stack.py"]))
        """,
        cwd=tmp_path,
        # Only this plugin: syrupy's own would fail to load with the module blocked.
        # -rN drops the short summary, whose copy of the message depends on the
        # terminal's width (COLUMNS), so the count below is the report's alone.
        env={"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "cdk-streams: snapshot testing needs syrupy: pip install 'cdk-streams[testing]'" in (
        done.stdout
    )
    assert "fixture 'snapshot' not found" not in done.stdout
    assert "Traceback" not in done.stdout
    # Once per failing test, not twice with "During handling of the above exception".
    assert done.stdout.count("pip install 'cdk-streams[testing]'") == 1
    assert "During handling" not in done.stdout


def test_snapshot_update_without_syrupy_names_the_testing_extra(tmp_path: Path) -> None:
    (tmp_path / "test_stack.py").write_text("def test_it(snapshot):\n    assert 1 == snapshot\n")
    done = _run(
        """
        import sys
        sys.modules["syrupy"] = None
        import pytest
        sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", "-p", "cdk_streams.pytest_plugin",
                              "--snapshot-update", "test_stack.py"]))
        """,
        cwd=tmp_path,
        env={"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )
    assert done.returncode == 4, done.stdout + done.stderr  # pytest's usage error
    assert done.stderr.strip() == (
        "ERROR: cdk-streams: snapshot testing needs syrupy: pip install 'cdk-streams[testing]'"
    )
    assert "unrecognized arguments" not in done.stderr
