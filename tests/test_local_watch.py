"""--watch: a changed file under a function's handler_dir reloads its code. The watcher
is polled by hand here (no waiting); file times are set explicitly."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cdk_streams.local import LocalCloud, LocalCloudError
from cdk_streams.local.watch import CodeWatcher, snapshot
from tests.zip_functions import create_zip_function


def _touch(path: Path, seconds: int) -> None:
    os.utime(path, ns=(seconds * 10**9, seconds * 10**9))


def _handler_dir(root: Path, body: str = "return 1") -> Path:
    root.mkdir()
    (root / "app.py").write_text(f"def handler(event, context):\n    {body}\n")
    _touch(root / "app.py", 1000)
    return root


def test_a_changed_file_reloads_every_function_built_from_it(tmp_path: Path) -> None:
    shared, other = _handler_dir(tmp_path / "shared"), _handler_dir(tmp_path / "other")
    reloaded: list[str] = []
    watcher = CodeWatcher({"a": shared, "b": shared, "c": other}, reloaded.append)
    assert watcher.poll() == []  # nothing changed since it started
    _touch(shared / "app.py", 2000)
    assert watcher.poll() == ["a", "b"]
    assert watcher.poll() == []  # reloaded once per change
    (other / "new.py").write_text("x = 1\n")
    assert watcher.poll() == ["c"]
    (other / "new.py").unlink()
    assert watcher.poll() == ["c"]
    assert reloaded == ["a", "b", "c", "c"]


def test_caches_and_bytecode_are_not_code(tmp_path: Path) -> None:
    code = _handler_dir(tmp_path / "code")
    watcher = CodeWatcher({"a": code}, lambda name: None)
    (code / "__pycache__").mkdir()
    (code / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"x")
    (code / "stale.pyc").write_bytes(b"x")
    assert watcher.poll() == []
    assert list(snapshot(code)) == [str(code / "app.py")]


def test_a_failed_reload_is_reported_and_watching_goes_on(tmp_path: Path) -> None:
    code = _handler_dir(tmp_path / "code")
    failures: list[tuple[str, str]] = []

    def reload(name: str) -> None:
        raise LocalCloudError("no room")

    watcher = CodeWatcher(
        {"a": code}, reload, on_error=lambda name, error: failures.append((name, str(error)))
    )
    _touch(code / "app.py", 3000)
    assert watcher.poll() == []
    assert failures == [("a", "no room")]


def test_reloading_a_function_runs_the_new_code(tmp_path: Path) -> None:
    source = _handler_dir(tmp_path / "src", body="return 'old'")
    with LocalCloud() as cloud:
        create_zip_function(cloud, "f", (source / "app.py").read_text())
        assert cloud.invoke("f", {}).payload == "old"
        (source / "app.py").write_text("def handler(event, context):\n    return 'new'\n")
        code = cloud.reload_function("f", source)
        assert (code / "stream_runtime").is_dir()  # assembled as the bundler does
        assert cloud.invoke("f", {}).payload == "new"
        with pytest.raises(LocalCloudError, match="function g: no handler_dir is known"):
            cloud.reload_function("g")
