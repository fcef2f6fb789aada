"""StreamHandlerCode: the sample, your directory with stream_runtime and requirements, and
the handler check that parses (never imports) your module.

requirements.txt is installed offline: a tiny pure-Python wheel is built by hand in a
module fixture and pip reads it with --no-index --find-links.
"""

from __future__ import annotations

import os

os.environ.setdefault("CDK_VALIDATION", "false")

import ast
import base64
import hashlib
import subprocess
import zipfile
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template

from cdk_streams import StreamHandlerCode, StreamProcessor, StreamsValidationError
from cdk_streams.handler_entry import check_handler, module_level_names
from cdk_streams.local.invoker import FunctionConfig, FunctionRuntime
from cdk_streams.requirements import install_requirements
from tests.stacks import new_stack, only, orders_table

# -- the handler check --------------------------------------------------------

MODULE = """
import json
from stream_runtime import Router as _Router

router = _Router()
handler = router.handler
typed: int = 1
a, (b, c) = 1, (2, 3)

def plain(event, context):
    def inner(): pass
    return inner

async def later(event, context): ...

class Thing: ...

if True:
    in_if = 1
else:
    in_else = 1
try:
    from fast import in_try
except ImportError:
    in_except = None
"""


def test_module_level_names_are_every_top_level_binding():
    names = module_level_names(ast.parse(MODULE))
    assert names == {
        "json",
        "_Router",
        "router",
        "handler",
        "typed",
        "a",
        "b",
        "c",
        "plain",
        "later",
        "Thing",
        "in_if",
        "in_else",
        "in_try",
        "in_except",
    }
    assert "inner" not in names  # inside a function: not importable as module.inner


def test_check_handler_accepts_assignment_and_package(tmp_path):
    (tmp_path / "users_cdc.py").write_text("handler = object()\n")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("def handler(event, context): ...\n")
    assert check_handler(tmp_path, "users_cdc.handler") is None
    assert check_handler(tmp_path, "pkg.handler") is None


def test_check_handler_never_runs_the_module(tmp_path):
    marker = tmp_path / "ran"
    (tmp_path / "app.py").write_text(
        f"open({str(marker)!r}, 'w').write('x')\ndef handler(event, context): ...\n"
    )
    assert check_handler(tmp_path, "app.handler") is None
    assert not marker.exists()


def test_a_syntax_error_is_reported_with_its_line(tmp_path):
    (tmp_path / "app.py").write_text("def handler(event, context)\n    return 1\n")
    problem = check_handler(tmp_path, "app.handler")
    assert problem is not None
    assert problem.allowed == "a module that is valid Python"
    assert problem.got.startswith("'app.handler' but app.py line 1: ")


def test_a_star_import_does_not_define_the_handler(tmp_path):
    (tmp_path / "app.py").write_text("from elsewhere import *\n")
    problem = check_handler(tmp_path, "app.handler")
    assert problem is not None and "does not define" in problem.got


# -- StreamHandlerCode --------------------------------------------------------


def test_sample_is_the_orders_handler():
    code = StreamHandlerCode.sample()
    assert code.handler == "process_order_changes.handler"
    assert code.is_sample and code.directory is None


@pytest.mark.parametrize(
    ("directory", "handler", "message"),
    [
        (
            "/no/such/dir",
            "app.handler",
            "StreamHandlerCode.from_directory: handler_dir must be an existing directory, "
            "got '/no/such/dir'",
        ),
        (
            None,
            "app",
            "StreamHandlerCode.from_directory: handler must be 'module.function' (or "
            "'module:function') inside handler_dir, got 'app'",
        ),
        (
            None,
            "app.hndler",
            "StreamHandlerCode.from_directory: handler must be a function that app.py defines "
            "or assigns at module level (def hndler(event, context): ... or hndler = "
            "router.handler), got 'app.hndler', which app.py does not define; did you mean "
            "app.handler?",
        ),
    ],
    ids=["no directory", "no function part", "misspelt"],
)
def test_from_directory_errors(tmp_path, directory, handler, message):
    (tmp_path / "app.py").write_text("def handler(event, context): ...\n")
    with pytest.raises(StreamsValidationError) as caught:
        StreamHandlerCode.from_directory(directory or tmp_path, handler=handler)
    assert str(caught.value) == message


def test_a_relative_handler_dir_says_where_it_was_looked_for(tmp_path, monkeypatch):
    # pytest or cdk run from a parent directory resolve "handlers" there, not in the app.
    (tmp_path / "app" / "handlers").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StreamsValidationError) as caught:
        StreamHandlerCode.from_directory("handlers", handler="app.handler")
    assert str(caught.value) == (
        "StreamHandlerCode.from_directory: handler_dir must be an existing directory, "
        f"got 'handlers' (looked for {str(tmp_path / 'handlers')!r}: a relative handler_dir "
        "is found from the current directory; to find it from your stack's file, pass "
        "Path(__file__).parent / 'handlers')"
    )
    # The hint names the directory given, whatever it is called.
    with pytest.raises(StreamsValidationError) as caught:
        StreamHandlerCode.from_directory("src/functions", handler="app.handler")
    assert str(caught.value).endswith("pass Path(__file__).parent / 'src/functions')")


def test_pip_options_must_be_strings(tmp_path):
    (tmp_path / "app.py").write_text("def handler(event, context): ...\n")
    with pytest.raises(StreamsValidationError) as caught:
        StreamHandlerCode.from_directory(tmp_path, handler="app.handler", pip_options="--no-index")
    assert str(caught.value) == (
        "StreamHandlerCode.from_directory: pip_options must be a list of strings, got '--no-index'"
    )


# -- requirements.txt, offline --------------------------------------------------


def _wheel(directory: Path, name: str, version: str, source: str) -> Path:
    """A minimal pure-Python wheel, written by hand (no build backend, no network)."""
    files = {
        f"{name}/__init__.py": source.encode(),
        f"{name}-{version}.dist-info/METADATA": (
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        ).encode(),
        f"{name}-{version}.dist-info/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{name}-{version}.dist-info/RECORD,,")
    files[f"{name}-{version}.dist-info/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel = directory / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, data in files.items():
            archive.writestr(zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0)), data)
    return wheel


@pytest.fixture(scope="module")
def offline(tmp_path_factory):
    """A wheel directory, a handler that needs the wheel, and a private pip cache."""
    root = tmp_path_factory.mktemp("offline")
    wheels = root / "wheels"
    wheels.mkdir()
    _wheel(wheels, "tinydep", "1.0", 'GREETING = "hello from tinydep"\n')
    handler_dir = root / "handler"
    handler_dir.mkdir()
    (handler_dir / "requirements.txt").write_text("tinydep==1.0\n")
    (handler_dir / "app.py").write_text(
        "import tinydep\nimport stream_runtime\n\n"
        "def handler(event, context):\n    return {'greeting': tinydep.GREETING}\n"
    )
    cache = root / "cache"
    previous = os.environ.get("CDK_STREAMS_CACHE_DIR")
    os.environ["CDK_STREAMS_CACHE_DIR"] = str(cache)
    yield {
        "root": root,
        "handler_dir": handler_dir,
        "pip_options": ["--no-index", "--find-links", str(wheels)],
        "cache": cache,
    }
    if previous is None:
        os.environ.pop("CDK_STREAMS_CACHE_DIR", None)
    else:
        os.environ["CDK_STREAMS_CACHE_DIR"] = previous


def _synth_with_requirements(offline, outdir: Path) -> tuple[dict, Path]:
    app = cdk.App(outdir=str(outdir))
    stack = new_stack(app)
    code = StreamHandlerCode.from_directory(
        offline["handler_dir"], handler="app.handler", pip_options=offline["pip_options"]
    )
    StreamProcessor(stack, "Processor", table=orders_table(stack).table, code=code)
    function = only(Template.from_stack(stack), "AWS::Lambda::Function")["Properties"]
    key = function["Code"]["S3Key"]
    asset = outdir / f"asset.{key.removesuffix('.zip')}"
    return function, asset


@pytest.fixture(scope="module")
def bundled(offline, tmp_path_factory):
    first = _synth_with_requirements(offline, tmp_path_factory.mktemp("out1"))
    second = _synth_with_requirements(offline, tmp_path_factory.mktemp("out2"))
    return first, second


def test_requirements_are_installed_into_the_asset(bundled):
    (_, asset), _ = bundled
    assert (asset / "tinydep" / "__init__.py").is_file()
    assert (asset / "app.py").is_file()
    assert (asset / "stream_runtime" / "__init__.py").is_file()
    assert not list(asset.rglob("*.pyc"))


def test_the_asset_hash_is_stable_across_synths(bundled):
    (first, _), (second, _) = bundled
    assert first["Code"]["S3Key"] == second["Code"]["S3Key"]


def test_the_local_runtime_runs_the_function_with_its_dependency(bundled):
    (_, asset), _ = bundled
    config = FunctionConfig(
        name="orders-cdc",
        arn="arn:aws:lambda:us-east-1:123456789012:function:orders-cdc",
        handler="app.handler",
        code_dir=asset,
    )
    with FunctionRuntime(config, log_sink=lambda *_: None) as runtime:
        result = runtime.invoke({"Records": []})
    assert result.function_error is None, result
    assert result.payload == {"greeting": "hello from tinydep"}


def test_the_install_is_cached_by_requirements_and_platform(offline):
    calls = []

    def run(command, **kwargs):
        calls.append(command)
        return subprocess.run(command, **kwargs)

    requirements = offline["handler_dir"] / "requirements.txt"
    options = {"python_version": "3.14", "pip_options": offline["pip_options"], "run": run}
    first = install_requirements(requirements, architecture="arm64", **options)
    again = install_requirements(requirements, architecture="arm64", **options)
    other = install_requirements(requirements, architecture="x86_64", **options)
    assert first == again != other
    platforms = [c[c.index("--platform") + 1] for c in calls]
    # The module fixture already installed for arm64, so only x86_64 ran pip here.
    assert platforms == ["manylinux2014_x86_64"]
    assert "--only-binary=:all:" in calls[0] and "--target" in calls[0]


def test_a_missing_wheel_names_the_package_and_the_platform(offline, tmp_path):
    handler_dir = tmp_path / "handler"
    handler_dir.mkdir()
    (handler_dir / "requirements.txt").write_text("nosuchpkg==2.0\n")
    (handler_dir / "app.py").write_text("def handler(event, context): ...\n")
    stack = new_stack()
    code = StreamHandlerCode.from_directory(
        handler_dir, handler="app.handler", pip_options=offline["pip_options"]
    )
    with pytest.raises(StreamsValidationError) as caught:
        StreamProcessor(
            stack,
            "Processor",
            table=orders_table(stack).table,
            code=code,
            runtime=lambda_.Runtime.PYTHON_3_13,
        )
    assert str(caught.value) == (
        "Test/Processor: handler_dir's requirements.txt must name packages with a wheel for "
        "manylinux2014_aarch64 (Python 3.13) (pip --only-binary=:all:), got nosuchpkg==2.0: "
        "pip found no wheel for manylinux2014_aarch64 (Python 3.13). Check the name and "
        "version (pip says the same of a package that does not exist), pin a version that "
        "ships such a wheel, pick the other architecture, or vendor a pure-Python copy into "
        "handler_dir"
    )


def test_from_directory_code_serves_a_function_you_build(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    (source / "app.py").write_text(
        "from stream_runtime import StreamRouter\nhandler = StreamRouter().handler\n"
    )
    app = cdk.App(outdir=str(tmp_path / "out"))
    stack = new_stack(app)
    code = StreamHandlerCode.from_directory(source, handler="app.handler")
    lambda_.Function(
        stack,
        "Mine",
        runtime=code.runtime,
        architecture=code.architecture,
        handler=code.handler,
        code=code.to_code(),
    )
    function = only(Template.from_stack(stack), "AWS::Lambda::Function")["Properties"]
    asset = tmp_path / "out" / f"asset.{function['Code']['S3Key'].removesuffix('.zip')}"
    assert (asset / "stream_runtime" / "router.py").is_file()
    assert function["Handler"] == "app.handler"
    assert function["Architectures"] == ["arm64"]


def test_pip_failing_for_another_reason_is_reported_as_such(offline, tmp_path):
    handler_dir = tmp_path / "handler"
    handler_dir.mkdir()
    (handler_dir / "requirements.txt").write_text("this is not a requirement !!\n")
    (handler_dir / "app.py").write_text("def handler(event, context): ...\n")
    code = StreamHandlerCode.from_directory(
        handler_dir, handler="app.handler", pip_options=offline["pip_options"]
    )
    with pytest.raises(StreamsValidationError) as caught:
        code.to_code()
    message = str(caught.value)
    assert message.startswith(
        "StreamHandlerCode.to_code: handler_dir's requirements.txt must install with pip for "
        "manylinux2014_aarch64 (Python 3."
    )
    assert "got pip failed for manylinux2014_aarch64" in message


def test_where_pip_finds_wheels_does_not_change_the_asset(
    offline, bundled, tmp_path_factory, monkeypatch
):
    (first, _), _ = bundled
    monkeypatch.setenv("PIP_DEFAULT_TIMEOUT", "30")  # a different cache key, same content
    second, _ = _synth_with_requirements(offline, tmp_path_factory.mktemp("out3"))
    assert first["Code"]["S3Key"] == second["Code"]["S3Key"]
