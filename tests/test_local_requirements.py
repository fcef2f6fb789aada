"""Local code runs with its requirements.txt installed for this machine's Python.

The local cloud and ``local invoke`` run handlers on the host's interpreter,
so the Lambda-platform wheels of the asset (arm64, another Python) must not be
what they import. pip is faked here except once: the module fixture installs a
hand-written wheel from a local directory (no index, no network), and the tests
that use it find it cached.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cdk_streams.cli import main
from cdk_streams.local import host_requirements
from cdk_streams.local.code_copy import copy_handler_code
from cdk_streams.local.host_requirements import (
    HostRequirementsError,
    host_install_dir,
    host_python,
    install_for_host,
)
from cdk_streams.local.invoker import FunctionConfig, FunctionRuntime
from tests.zip_functions import create_zip_function

APP = "import tinydep\n\ndef handler(event, context):\n    return {'greeting': tinydep.GREETING}\n"


def _dist_files(name: str, version: str, files: dict[str, str | bytes]) -> dict[str, bytes]:
    """A distribution's files as pip installs them: the package, METADATA, RECORD."""
    out = {path: data.encode() if isinstance(data, str) else data for path, data in files.items()}
    info = f"{name}-{version}.dist-info"
    out[f"{info}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
    out[f"{info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    record = []
    for path, data in out.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{info}/RECORD,,")
    out[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    return out


def _write(root: Path, files: dict[str, bytes]) -> None:
    for path, data in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)


class FakePip:
    """Stands for ``subprocess.run`` of pip: installs ``files`` into ``--target``."""

    def __init__(
        self, files: dict[str, bytes] | None = None, *, returncode: int = 0, stderr: str = ""
    ) -> None:
        self.files = files or {}
        self.returncode = returncode
        self.stderr = stderr
        self.commands: list[list[str]] = []
        self.cwds: list[Any] = []

    def __call__(self, command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        self.commands.append(command)
        self.cwds.append(kwargs.get("cwd"))
        if self.returncode == 0:
            _write(Path(command[command.index("--target") + 1]), self.files)
        return subprocess.CompletedProcess(command, self.returncode, "", self.stderr)


def _tinydep(greeting: str) -> dict[str, bytes]:
    return _dist_files("tinydep", "1.0", {"tinydep/__init__.py": f"GREETING = {greeting!r}\n"})


def _handler_dir(root: Path, requirements: str = "tinydep==1.0\n") -> Path:
    root.mkdir(parents=True)
    (root / "app.py").write_text(APP)
    (root / "requirements.txt").write_text(requirements)
    return root


def _invoke(code_dir: Path) -> Any:
    config = FunctionConfig(
        name="f", arn="arn:aws:lambda:::function:f", handler="app.handler", code_dir=code_dir
    )
    with FunctionRuntime(config, log_sink=lambda *_: None) as runtime:
        result = runtime.invoke({})
    assert result.ok, result.error
    return result.payload


# -- the host install and its cache (pip faked) ------------------------------------


def test_requirements_are_installed_for_this_python_once(tmp_path: Path) -> None:
    source = _handler_dir(tmp_path / "handler")
    pip = FakePip(_tinydep("from the host install"))
    said: list[str] = []
    first = copy_handler_code(
        source, tmp_path / "one", cache=tmp_path / "cache", run=pip, progress=said.append
    )
    again = copy_handler_code(
        source, tmp_path / "two", cache=tmp_path / "cache", run=pip, progress=said.append
    )
    assert len(pip.commands) == 1  # the second assembly found the install cached
    (command,) = pip.commands
    assert command[:4] == [sys.executable, "-m", "pip", "install"]
    assert command[-2:] == ["--requirement", str(source / "requirements.txt")]
    # From the file's directory: a relative path in it means what it means to the bundler.
    assert pip.cwds == [source]
    # For this interpreter: none of the Lambda install's platform pins.
    assert not {"--platform", "--python-version", "--only-binary=:all:"} & set(command)
    assert said == [f"installing {source / 'requirements.txt'} for the local {host_python()} ..."]
    for code in (first, again):
        assert (code / "app.py").is_file() and (code / "stream_runtime").is_dir()
        # Linked from the cache, not copied.
        assert (code / "tinydep").resolve().parent == host_install_dir(
            source / "requirements.txt", cache=tmp_path / "cache"
        )
    assert _invoke(first) == {"greeting": "from the host install"}

    (source / "requirements.txt").write_text("tinydep==1.0\nother==2\n")
    copy_handler_code(source, tmp_path / "three", cache=tmp_path / "cache", run=pip)
    assert len(pip.commands) == 2  # other requirements: another install


def test_the_lambda_copy_is_left_out_and_the_host_copy_runs(tmp_path: Path) -> None:
    # A deployed asset: the handler, the bundler's arm64 install of tinydep (whose
    # compiled module cannot load here), and a package vendored by hand.
    asset = _handler_dir(tmp_path / "asset")
    (asset / "app.py").write_text(
        "import tinydep, vendored\n\n"
        "def handler(event, context):\n"
        "    return {'greeting': tinydep.GREETING, 'vendored': vendored.NAME}\n"
    )
    native = "tinydep/_speedups.cpython-314-aarch64-linux-gnu.so"
    lambda_copy = {
        "tinydep/__init__.py": "from ._speedups import GREETING\n",
        native: b"\x7fELF, not for this machine",
    }
    _write(asset, _dist_files("tinydep", "1.0", lambda_copy))
    _write(asset, _dist_files("vendored", "2.0", {"vendored/__init__.py": "NAME = 'mine'\n"}))

    code = copy_handler_code(
        asset, tmp_path / "code", cache=tmp_path / "cache", run=FakePip(_tinydep("host"))
    )
    assert _invoke(code) == {"greeting": "host", "vendored": "mine"}
    assert not (code / native).exists()
    assert (code / "tinydep").is_symlink()
    assert (code / "vendored-2.0.dist-info" / "RECORD").is_file()  # not in requirements: kept


def test_the_codes_own_files_win_over_the_host_packages(tmp_path: Path) -> None:
    source = _handler_dir(tmp_path / "handler")
    (source / "tinydep").mkdir()
    (source / "tinydep" / "extra.py").write_text("MINE = True\n")
    files = _tinydep("host")
    files["tinydep/extra.py"] = b"MINE = False\n"
    code = copy_handler_code(
        source, tmp_path / "code", cache=tmp_path / "cache", run=FakePip(files)
    )
    # As the bundler copies the handler over the packages: merged, the handler's file kept.
    assert (code / "tinydep" / "extra.py").read_text() == "MINE = True\n"
    assert (code / "tinydep" / "__init__.py").is_file()


@pytest.mark.parametrize(
    ("stderr", "reason"),
    [
        (  # pip 25, no wheel or sdist anywhere
            "ERROR: Could not find a version that satisfies the requirement nosuchpkg==2.0 "
            "(from versions: none)\nERROR: No matching distribution found for nosuchpkg==2.0\n",
            "No matching distribution found for nosuchpkg==2.0",
        ),
        (  # a source build that fails: the build backend's lines are indented
            "  error: subprocess-exited-with-error\n  \n  \u00d7 installing build dependencies did "
            "not run successfully.\n  \u2502 exit code: 1\n  note: This error originates from a "
            "subprocess, and is likely not a problem with pip.\nERROR: Failed to build "
            "'file:///src/badpkg' when installing build dependencies\n",
            "Failed to build 'file:///src/badpkg' when installing build dependencies",
        ),
        ("\x1b[31mERROR: Invalid requirement: '!!'\x1b[0m\n", "Invalid requirement: '!!'"),
        ("/usr/bin/python3: No module named pip\n", "/usr/bin/python3: No module named pip"),
        ("", "pip exited with status 1"),
    ],
)
def test_a_pip_failure_is_one_line_naming_the_file_and_pips_reason(
    tmp_path: Path, stderr: str, reason: str
) -> None:
    source = _handler_dir(tmp_path / "handler")
    requirements = source / "requirements.txt"
    with pytest.raises(HostRequirementsError) as caught:
        install_for_host(
            requirements, cache=tmp_path / "cache", run=FakePip(stderr=stderr, returncode=1)
        )
    assert str(caught.value) == (
        f"{requirements}: pip cannot install it for {host_python()}, the Python the local "
        f"cloud runs handlers on: {reason}; fix the requirement, or point pip at it with "
        "PIP_INDEX_URL or PIP_FIND_LINKS"
    )
    # Nothing half-installed is left to be taken as cached.
    assert list((tmp_path / "cache" / "host-requirements").iterdir()) == []


# -- local invoke ------------------------------------------------------------------


def _local_invoke(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, handler_dir: Path, handler: str
) -> tuple[int, str, str]:
    """``cdk-streams local invoke`` of ``handler`` on an empty batch: (status, out, err)."""
    event = tmp_path / "event.json"
    event.write_text('{"Records": []}')
    status = main(
        ["local", "invoke", "--event", str(event), "--handler-dir", str(handler_dir),
         "--handler", handler]
    )  # fmt: skip
    out, err = capsys.readouterr()
    return status, out, err


def test_local_invoke_names_a_missing_handler_in_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CDK_STREAMS_CACHE_DIR", str(tmp_path / "cache"))
    source = _handler_dir(tmp_path / "handler")
    status, out, err = _local_invoke(capsys, tmp_path, source, "app.handlr")
    assert (status, out) == (2, "")
    assert err == (
        "cdk-streams local invoke: --handler: handler must be a function that app.py defines "
        "or assigns at module level (def handlr(event, context): ... or handlr = "
        "router.handler), got 'app.handlr', which app.py does not define; did you mean "
        "app.handler?\n"
    )
    assert not (tmp_path / "cache").exists()  # checked before any pip run


def test_local_invoke_reports_a_pip_failure_in_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    failing = FakePip(
        stderr="ERROR: No matching distribution found for tinydep==1.0\n", returncode=1
    )
    real = host_requirements.install_for_host

    def install(requirements: Path, **options: Any) -> Path:
        return real(requirements, **{**options, "cache": tmp_path / "cache", "run": failing})

    monkeypatch.setattr(host_requirements, "install_for_host", install)
    source = _handler_dir(tmp_path / "handler")
    status, out, err = _local_invoke(capsys, tmp_path, source, "app.handler")
    assert (status, out) == (2, "")
    requirements = source / "requirements.txt"
    # The progress line (pip may take a while), then the error's one line.
    assert err.splitlines() == [
        f"installing {requirements} for the local {host_python()} ...",
        f"cdk-streams local invoke: {requirements}: pip cannot install it for {host_python()}, "
        "the Python the local cloud runs handlers on: No matching distribution found for "
        "tinydep==1.0; fix the requirement, or point pip at it with PIP_INDEX_URL or "
        "PIP_FIND_LINKS",
    ]
    assert len(failing.commands) == 1


# -- with a real pip, once ---------------------------------------------------------


def _wheel(directory: Path, name: str, version: str, source: str) -> Path:
    wheel = directory / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, data in _dist_files(name, version, {f"{name}/__init__.py": source}).items():
            archive.writestr(zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0)), data)
    return wheel


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A handler directory whose requirement pip installed (for real) into a private cache."""
    root = tmp_path_factory.mktemp("real-pip")
    wheels = root / "wheels"
    wheels.mkdir()
    _wheel(wheels, "tinydep", "1.0", "GREETING = 'hello from tinydep'\n")
    source = _handler_dir(root / "handler")
    with pytest.MonkeyPatch.context() as env:
        # pip reads these, as a user's private index would be given; no network.
        env.setenv("PIP_NO_INDEX", "1")
        env.setenv("PIP_FIND_LINKS", str(wheels))
        env.setenv("CDK_STREAMS_CACHE_DIR", str(root / "cache"))
        install_for_host(source / "requirements.txt")
        yield source


def _install_stamp(source: Path) -> tuple[int, int]:
    """Changes if the cached install is made again."""
    stat = host_install_dir(source / "requirements.txt").stat()
    return stat.st_ino, stat.st_mtime_ns


def test_local_invoke_runs_the_handler_with_its_requirements(
    installed: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    stamp = _install_stamp(installed)
    status, out, err = _local_invoke(capsys, tmp_path, installed, "app.handler")
    assert status == 0, err
    assert json.loads(out) == {"greeting": "hello from tinydep"}
    assert "installing" not in err and _install_stamp(installed) == stamp  # cached


def test_a_reloaded_function_runs_with_its_requirements(installed: Path) -> None:
    from cdk_streams.local import LocalCloud

    stamp = _install_stamp(installed)
    with LocalCloud() as cloud:
        create_zip_function(
            cloud, "f", "def handler(event, context):\n    return 'old'\n", Runtime="python3.14"
        )
        assert cloud.invoke("f", {}).payload == "old"
        cloud.reload_function("f", installed)
        result = cloud.invoke("f", {})
    assert result.ok, result.error
    assert result.payload == {"greeting": "hello from tinydep"}
    assert _install_stamp(installed) == stamp


def test_a_relative_cache_directory_still_gives_working_links(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A symlink's relative target is read from the link's directory, not the
    # working directory: the cache root must be absolute for the links to work.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CDK_STREAMS_CACHE_DIR", "relative-cache")
    source = _handler_dir(tmp_path / "handler")
    code = copy_handler_code(source, tmp_path / "code", run=FakePip(_tinydep("linked")))
    assert (code / "tinydep" / "__init__.py").read_text() == "GREETING = 'linked'\n"
    assert (tmp_path / "relative-cache" / "host-requirements").is_dir()
