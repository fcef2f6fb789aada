"""A wheel built from this repository, installed in a virtualenv of its own, works
for an app and its tests outside the repository.

`make setup` builds the wheel (into .build/wheel) and that virtualenv
(.venv-wheel), again whenever a package source changes. The virtualenv holds
only the wheel; it borrows the test environment's third-party packages
(aws-cdk-lib is 100+ MB) through a path entry, which does not run their .pth
files, so the repository's own editable install cannot leak in. The tests
assert where cdk_streams and stream_runtime came from.
"""

from __future__ import annotations

import json
import subprocess
import textwrap
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow

WHEEL_VENV = REPO / ".venv-wheel"
WHEEL_DIR = REPO / ".build" / "wheel"


APP = textwrap.dedent(
    """
    import json, sys
    import aws_cdk as cdk
    from aws_cdk import aws_dynamodb as dynamodb
    import cdk_streams
    from cdk_streams import StreamProcessor, StreamTable

    app = cdk.App(outdir="cdk.out", context={"aws:cdk:enable-asset-metadata": True})
    data = cdk.Stack(app, "Data")
    orders = StreamTable(
        data, "Orders",
        partition_key=dynamodb.Attribute(name="orderId", type=dynamodb.AttributeType.STRING),
    )
    compute = cdk.Stack(app, "Compute")
    StreamProcessor(compute, "Billing", table=orders.table,
                    code=cdk_streams.StreamHandlerCode.sample())
    StreamProcessor(compute, "Shipping", table=orders.table,
                    handler_dir="handlers", handler="shipping.handler")
    app.synth()
    print(json.dumps({"cdk_streams": cdk_streams.__file__}))
    """
)


HANDLER_TEST = textwrap.dedent(
    """
    import json
    from decimal import Decimal

    import stream_runtime
    from stream_runtime import ChangeRecord, StreamRouter
    from cdk_streams.testing import StreamEventFactory

    from shipping import handler, shipped


    def test_handler_with_factory_events():
        f = StreamEventFactory(key_names=("orderId",), table_name="Orders")
        event = f.event(
            f.insert({"orderId": "o-1", "total": Decimal("12.50")}),
            f.modify({"orderId": "o-1", "status": "NEW"}, {"orderId": "o-1", "status": "SHIPPED"}),
        )
        assert handler(event, None) == {"batchItemFailures": []}
        assert shipped == ["o-1"]
        print("RUNTIME", stream_runtime.__file__)
    """
)


@pytest.fixture(scope="module")
def wheel() -> Path:
    stamp = WHEEL_VENV / ".installed"
    if not stamp.is_file():
        pytest.fail("the installed-wheel virtualenv .venv-wheel is missing: run `make setup`")
    # The same files the Makefile rebuilds it from.
    sources = [REPO / "pyproject.toml", REPO / "README.md"] + [
        path
        for root in ("cdk_streams", "lambda_src")
        for path in (REPO / root).rglob("*")
        if path.suffix == ".py" or path.name == "py.typed"
    ]
    newer = [p.relative_to(REPO) for p in sources if p.stat().st_mtime > stamp.stat().st_mtime]
    if newer:
        pytest.fail(
            f".venv-wheel is older than {newer[0]} (and {len(newer) - 1} more): run `make setup`"
        )
    (built,) = WHEEL_DIR.glob("cdk_streams-*.whl")
    return built


@pytest.fixture(scope="module")
def python(wheel: Path) -> Path:
    return WHEEL_VENV / "bin" / "python"


@pytest.fixture(scope="module")
def outside_app(python: Path, tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("outside")
    app_dir = root / "app"
    (app_dir / "handlers").mkdir(parents=True)
    (app_dir / "handlers" / "shipping.py").write_text(
        "from stream_runtime import StreamRouter\n\nrouter = StreamRouter()\nshipped = []\n\n\n"
        "@router.on_modify\ndef on_modify(record):\n"
        "    if record.new_image.get('status') == 'SHIPPED':\n"
        "        shipped.append(record.keys['orderId'])\n\n\n"
        "@router.on_any\ndef other(record):\n    pass\n\n\n"
        "def handler(event, context):\n    return router.handler(event, context)\n"
    )
    (app_dir / "app.py").write_text(APP)
    run = subprocess.run(
        [python, "app.py"], cwd=app_dir, check=False, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    return app_dir, report


def test_wheel_carries_the_bundled_code(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "cdk_streams/_lambda_src/process_order_changes.py" in names
    assert "cdk_streams/_lambda_src/stream_runtime/__init__.py" in names
    assert "cdk_streams/_lambda_src/stream_runtime/router.py" in names
    assert "cdk_streams/py.typed" in names
    assert not [n for n in names if n.endswith(".pyc") or n.startswith("tests/")]


def test_wheel_has_stream_runtime_as_a_top_level_package(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "stream_runtime/__init__.py" in names
    assert "stream_runtime/router.py" in names
    assert "stream_runtime/py.typed" in names
    assert not [n for n in names if n.startswith("stream_runtime/") and "process_order" in n]


def test_a_handler_unit_test_imports_stream_runtime_without_path_tricks(python, outside_app):
    app_dir, _ = outside_app
    tests = app_dir / "tests"
    tests.mkdir(exist_ok=True)
    (tests / "test_shipping.py").write_text(HANDLER_TEST)
    # The handler directory on the path as the user's pytest config would put it;
    # stream_runtime and cdk_streams come from the installed wheel alone.
    done = subprocess.run(
        [python, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", "tests"],
        cwd=app_dir,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(app_dir / "handlers")},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "1 passed" in done.stdout
    (runtime,) = [line for line in done.stdout.splitlines() if line.startswith("RUNTIME")]
    assert str(WHEEL_VENV) in runtime and "site-packages/stream_runtime/" in runtime


def test_outside_app_uses_the_installed_wheel(outside_app):
    _, report = outside_app
    assert str(WHEEL_VENV) in report["cdk_streams"] and "site-packages" in report["cdk_streams"]
    assert not report["cdk_streams"].startswith(str(REPO) + "/cdk_streams")


def test_table_in_one_stack_two_processors_in_another(outside_app):
    app_dir, _ = outside_app
    out = app_dir / "cdk.out"
    data = json.loads((out / "Data.template.json").read_text())
    compute = json.loads((out / "Compute.template.json").read_text())
    tables = [r for r in data["Resources"].values() if r["Type"] == "AWS::DynamoDB::Table"]
    assert len(tables) == 1
    mappings = [
        r for r in compute["Resources"].values() if r["Type"] == "AWS::Lambda::EventSourceMapping"
    ]
    assert len(mappings) == 2
    assert all("Fn::ImportValue" in m["Properties"]["EventSourceArn"] for m in mappings)


def test_assets_hold_the_sample_and_the_apps_own_code_with_the_runtime(outside_app):
    app_dir, _ = outside_app
    out = app_dir / "cdk.out"
    compute = json.loads((out / "Compute.template.json").read_text())
    assets = {
        r["Properties"]["Handler"]: out / r["Metadata"]["aws:asset:path"]
        for r in compute["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function"
    }
    assert set(assets) == {"process_order_changes.handler", "shipping.handler"}
    sample, own = assets["process_order_changes.handler"], assets["shipping.handler"]
    assert (sample / "process_order_changes.py").is_file()
    assert (sample / "stream_runtime" / "router.py").is_file()
    assert (own / "shipping.py").is_file()
    assert (own / "stream_runtime" / "router.py").is_file()
