"""A wheel built from this repository carries the bundled handler code, and an
app outside the repository can compose the constructs from it.

The fresh environment is a new virtualenv holding only the wheel; it borrows
the test environment's third-party packages (aws-cdk-lib is 100+ MB) through a
path entry, which does not run their .pth files, so the repository's own
editable install cannot leak in. The test asserts where cdk_streams came from.
"""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import textwrap
import venv
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO

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


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(dist),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    (built,) = dist.glob("cdk_streams-*.whl")
    return built


@pytest.fixture(scope="module")
def outside_app(wheel, tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("outside")
    env_dir = root / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(site, "borrowed-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
    )
    app_dir = root / "app"
    (app_dir / "handlers").mkdir(parents=True)
    (app_dir / "handlers" / "shipping.py").write_text(
        "from stream_runtime import StreamRouter\n\nrouter = StreamRouter()\n\n\n"
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


def test_outside_app_uses_the_installed_wheel(outside_app):
    _, report = outside_app
    assert "/venv/" in report["cdk_streams"] and "site-packages" in report["cdk_streams"]
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
