"""The aws-cdk-lib lower bound in pyproject.toml is real: with exactly that
release, the sample app and a composed two-stack app synthesize.

`make setup` builds .venv-mincdk (once; again only when pyproject.toml
changes): a virtualenv holding that aws-cdk-lib and this project. The synth runs
there in a subprocess (tests/fixtures/mincdk/probe.py) and reports what the
templates hold.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow

MINCDK_VENV = REPO / ".venv-mincdk"
PROBE = REPO / "tests" / "fixtures" / "mincdk" / "probe.py"


def _lower_bound() -> str:
    text = (REPO / "pyproject.toml").read_text()
    match = re.search(r'"aws-cdk-lib>=([0-9.]+),<3"', text)
    assert match, "pyproject.toml must pin aws-cdk-lib as >=X,<3"
    return match.group(1)


@pytest.fixture(scope="module")
def python() -> Path:
    if not (MINCDK_VENV / ".installed").is_file():
        pytest.fail("the oldest-aws-cdk-lib virtualenv .venv-mincdk is missing: run `make setup`")
    return MINCDK_VENV / "bin" / "python"


@pytest.fixture(scope="module")
def report(python: Path, tmp_path_factory) -> dict:
    done = subprocess.run(
        [python, str(PROBE), str(REPO)],
        cwd=tmp_path_factory.mktemp("mincdk"),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_venv_holds_exactly_the_lower_bound(python: Path) -> None:
    version = subprocess.run(
        [python, "-c", "from importlib.metadata import version; print(version('aws-cdk-lib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert version == _lower_bound()


def test_it_runs_this_checkout_on_that_release(report: dict) -> None:
    assert report["cdk_streams"] == str(REPO / "cdk_streams" / "__init__.py")
    assert report["aws_cdk_lib"].startswith(str(MINCDK_VENV))


def test_the_sample_app_synthesizes(report: dict) -> None:
    assert report["sample"] == {
        "AWS::DynamoDB::Table": 1,
        "AWS::Logs::LogGroup": 1,
        "AWS::IAM::Role": 1,
        "AWS::IAM::Policy": 1,
        "AWS::Lambda::Function": 1,
        "AWS::SQS::Queue": 1,
        "AWS::SQS::QueuePolicy": 1,
        "AWS::Lambda::EventSourceMapping": 1,
        "AWS::CloudWatch::Alarm": 8,
    }
    (mapping,) = report["sample_mapping"]
    assert mapping["BatchSize"] == 100
    assert mapping["MaximumBatchingWindowInSeconds"] == 5
    assert mapping["StartingPosition"] == "LATEST"
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BisectBatchOnFunctionError"] is True
    (table,) = report["sample_table"]
    assert table["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    (function,) = report["sample_function"]
    assert re.fullmatch(r"python3\.\d+", function["Runtime"])


def test_the_composed_two_stack_app_synthesizes(report: dict) -> None:
    assert report["data"] == {"AWS::DynamoDB::Table": 1, "AWS::Kinesis::Stream": 1}
    assert report["compute"]["AWS::Lambda::Function"] == 2
    assert report["compute"]["AWS::Lambda::EventSourceMapping"] == 2
    assert report["compute"]["AWS::CloudWatch::Dashboard"] == 2
    assert report["compute"]["AWS::CloudWatch::Alarm"] == 16
    shipping, analytics = sorted(
        report["compute_mappings"], key=lambda m: "FilterCriteria" not in m
    )
    assert "Fn::ImportValue" in json.dumps(shipping["EventSourceArn"])
    assert json.loads(shipping["FilterCriteria"]["Filters"][0]["Pattern"]) == {
        "eventName": ["MODIFY"],
        "dynamodb": {"NewImage": {"status": {"S": ["SHIPPED"]}}},
    }
    assert "Fn::ImportValue" in json.dumps(analytics["EventSourceArn"])
    assert "shipping.py" in report["handler_asset"] and "stream_runtime" in report["handler_asset"]
