"""The local cloud's own error paths, each with the message a user sees."""

from __future__ import annotations

from pathlib import Path

import pytest

from cdk_streams.local import Deployment, LocalCloud, LocalCloudError, Resource
from cdk_streams.local.destinations import OnFailureSender
from cdk_streams.local.runner import DrainReport, RunnerError


def test_missing_cdk_cli_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cdk_streams.local import cdk_driver

    # Nowhere to find it: not above the app, the working directory or the checkout.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cdk_driver, "CHECKOUT", tmp_path)
    with pytest.raises(LocalCloudError, match="the CDK CLI is not installed above"):
        LocalCloud()._cdk_command(tmp_path, {"PATH": str(tmp_path)})


def test_the_checkouts_cdk_cli_serves_an_app_outside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cdk_streams.local import cdk_driver

    monkeypatch.chdir(tmp_path)
    (command,), _ = LocalCloud()._cdk_command(tmp_path, {"PATH": str(tmp_path)})
    assert command == str(cdk_driver.CHECKOUT / "node_modules" / ".bin" / "cdk")


def test_a_failing_synth_shows_the_cli_output(tmp_path: Path) -> None:
    (tmp_path / "cdk.json").write_text(
        '{"app": "python3 -c \\"import sys; print(\'app is broken\'); sys.exit(4)\\""}'
    )
    node_modules = Path(__file__).resolve().parents[1] / "node_modules"
    (tmp_path / "node_modules").symlink_to(node_modules)
    with LocalCloud() as cloud, pytest.raises(LocalCloudError) as error:
        cloud.deploy(cwd=tmp_path)
    message = str(error.value)
    assert "synth: `cdk synth --quiet --output" in message and "failed with exit code" in message
    assert "app is broken" in message


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


def test_unsupported_on_failure_destination_is_refused() -> None:
    sender = OnFailureSender(lambda service: None)
    with pytest.raises(RunnerError, match="must be an SQS queue, SNS topic or S3 bucket ARN"):
        sender("arn:aws:kinesis:us-east-1:1:stream/s", {}, {})


def test_report_for_an_unknown_function_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="no mapping's function name contains 'x'; known: none"):
        DrainReport([], 0.0).for_function("x")
