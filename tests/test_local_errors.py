"""The local cloud's own error paths, each with the message a user sees."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from cdk_streams.local import Deployment, LocalCloud, LocalCloudError, Resource
from cdk_streams.local.destinations import OnFailureSender
from cdk_streams.local.runner import RunnerError
from cdk_streams.streams.counts import DrainReport
from cdk_streams.streams.on_failure import FailedBatch


def test_missing_cdk_cli_is_one_line(tmp_path: Path) -> None:
    # No CLI anywhere and no npm: the local cloud says what to install, in one line.
    env = {"PATH": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    (tmp_path / "node").write_text("#!/bin/sh\necho v24.0.0\n")
    (tmp_path / "node").chmod(0o755)
    with pytest.raises(LocalCloudError) as error:
        LocalCloud()._cdk_command(tmp_path, env)
    assert str(error.value).startswith("no CDK CLI found (none in the app's node_modules")
    assert error.value.__cause__ is None and error.value.__suppress_context__


def test_the_apps_cli_is_used_with_the_environment_to_run_it(tmp_path: Path) -> None:
    cli = tmp_path / "node_modules" / ".bin" / "cdk"
    cli.parent.mkdir(parents=True)
    cli.write_text("#!/bin/sh\n")
    command, env = LocalCloud()._cdk_command(tmp_path, {"PATH": os.environ["PATH"]})
    assert command == [str(cli)]
    assert env["PATH"].endswith(os.environ["PATH"])


def test_a_failing_synth_shows_the_apps_own_error_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A real app with a construct mistake, through `local up` and the real CDK CLI:
    # the CLI's last line only says the app failed; the user needs the app's error.
    from cdk_streams.cli import main

    (tmp_path / "cdk.json").write_text('{"app": "python3 app.py"}')
    (tmp_path / "app.py").write_text(
        "import aws_cdk as cdk\n"
        "from cdk_streams import StreamHandlerCode, StreamProcessor, StreamTable\n"
        "from aws_cdk import aws_dynamodb as dynamodb\n"
        "app = cdk.App()\n"
        "stack = cdk.Stack(app, 'OrdersStack')\n"
        "key = dynamodb.Attribute(name='orderId', type=dynamodb.AttributeType.STRING)\n"
        "orders = StreamTable(stack, 'Orders', partition_key=key)\n"
        "StreamProcessor(stack, 'Shipping', table=orders.table, code=StreamHandlerCode.sample(),"
        " batch_size=0)\n"
        "app.synth()\n"
    )
    node_modules = Path(__file__).resolve().parents[1] / "node_modules"
    (tmp_path / "node_modules").symlink_to(node_modules)
    assert main(["local", "up", "--app-dir", str(tmp_path)]) == 2
    last = capsys.readouterr().err.splitlines()[-1]
    assert re.fullmatch(
        r"cdk-streams local up: synth: `cdk synth --quiet --output [^`]+` failed with exit code 1: "
        r"StreamsValidationError: OrdersStack/Shipping: batch_size must be 1\.\.10000, got 0 "
        r"\(--debug shows the whole output\)",
        last,
    ), last


def test_find_names_what_was_deployed() -> None:
    deployment = Deployment(
        assembly_dir=Path("."),
        resources=[
            Resource("S", "OrdersTable1", "AWS::DynamoDB::Table", "t1"),
            Resource("S", "AuditTable2", "AWS::DynamoDB::Table", "t2"),
        ],
    )
    assert deployment.table_name("Orders") == "t1"
    assert deployment.table_name("Table2") == "t2"  # falls back to "contains"
    with pytest.raises(LocalCloudError) as error:
        deployment.table_name("Table")
    assert str(error.value) == (
        "expected one AWS::DynamoDB::Table or AWS::DynamoDB::GlobalTable whose logical id "
        "contains 'Table', found 2; "
        "deployed: S/OrdersTable1, S/AuditTable2"
    )


FAILED = FailedBatch(
    mapping_uuid="m",
    function_arn="arn:aws:lambda:us-east-1:1:function:f",
    stream_arn="arn:aws:dynamodb:us-east-1:1:table/T/stream/x",
    shard_id="s",
    records=[{"dynamodb": {"SequenceNumber": "1"}}],
    condition="RetryAttemptsExhausted",
    invoke_count=1,
    request_id="r",
    function_error="Unhandled",
    failed_at=0.0,
)


def test_unsupported_on_failure_destination_is_refused() -> None:
    sender = OnFailureSender(lambda service: None)
    with pytest.raises(RunnerError, match="must be an SQS queue, SNS topic or S3 bucket ARN"):
        sender("arn:aws:kinesis:us-east-1:1:stream/s", FAILED)


def test_report_for_an_unknown_function_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="no mapping's function name contains 'x'; known: none"):
        DrainReport([], 0.0).for_function("x")
