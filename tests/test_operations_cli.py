"""`cdk-streams redrive` and `cdk-streams backfill`: the error paths that need no AWS.

Each expected error is one line on stderr and exit status 2; --debug shows the
traceback instead. The commands' successful runs are in test_operations_local.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cdk_streams.cli import main

HANDLER_DIR = Path(__file__).parent / "fixtures" / "ops_app" / "handler"
AWS = ["--region", "us-east-1", "--endpoint-url", "http://localhost:9"]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    status = main(list(argv))
    err = capsys.readouterr().err
    return status, err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["redrive", "--from", "nowhere", "--function", "f", *AWS],
            "cdk-streams redrive: --from must be an SQS queue URL, a queue ARN or "
            "s3://bucket/prefix, got 'nowhere'",
        ),
        (
            ["redrive", "--from", "s3://", "--function", "f", *AWS],
            "cdk-streams redrive: --from s3://BUCKET/PREFIX needs a bucket, got 's3://'",
        ),
        (
            ["redrive", "--from", "s3://b/p", "--function", "f", "--handler", "ops.handler", *AWS],
            "cdk-streams redrive: give either --function or --handler-dir with --handler, not both",
        ),
        (
            ["redrive", "--from", "s3://b/p", *AWS],
            "cdk-streams redrive: say where the records go: --function NAME, or --handler-dir "
            "DIR --handler module.function",
        ),
        (
            ["redrive", "--from", "s3://b/p", "--handler", "ops.handler", *AWS],
            "cdk-streams redrive: --handler-dir and --handler go together",
        ),
        (
            [
                "redrive",
                "--from",
                "s3://b/p",
                "--handler-dir",
                "/no/such/dir",
                "--handler",
                "ops.handler",
                *AWS,
            ],
            "cdk-streams redrive: --handler-dir /no/such/dir is not a directory",
        ),
        (
            [
                "redrive",
                "--from",
                "s3://b/p",
                "--handler-dir",
                str(HANDLER_DIR),
                "--handler",
                "ops",
                *AWS,
            ],
            "cdk-streams redrive: --handler must be module.function or module:function, "
            "e.g. orders.handler; got 'ops'",
        ),
        (
            [
                "redrive",
                "--from",
                "s3://b/p",
                "--handler-dir",
                str(HANDLER_DIR),
                "--handler",
                "ops:missing",
                *AWS,
            ],
            f"cdk-streams redrive: --handler: module 'ops' in {HANDLER_DIR} has no function "
            "'missing'",
        ),
        (
            ["redrive", "--from", "s3://b/p", "--function", "f", "--batch-size", "0", *AWS],
            "cdk-streams redrive: --batch-size must be 1..10000, got 0",
        ),
        (
            ["backfill", "--table", "t", "--function", "f", "--batch-size", "0", *AWS],
            "cdk-streams backfill: --batch-size must be 1..10000, got 0",
        ),
        (
            ["backfill", "--table", "t", "--function", "f", "--segments", "0", *AWS],
            "cdk-streams backfill: --segments must be 1..1000000, got 0",
        ),
        (
            ["backfill", "--table", "t", "--function", "f", "--retry-attempts", "-1", *AWS],
            "cdk-streams backfill: --retry-attempts must be 0 or more, got -1",
        ),
    ],
)
def test_expected_errors_are_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    status, err = run(capsys, *argv)
    assert (status, err) == (2, message + "\n")


def test_no_region_says_how_to_give_one(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    status, err = run(capsys, "backfill", "--table", "t", "--function", "f")
    assert (status, err) == (
        2,
        "cdk-streams backfill: no AWS region: pass --region or set AWS_REGION\n",
    )


def test_debug_shows_the_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["redrive", "--from", "nowhere", "--function", "f", "--debug", *AWS]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):")
    assert "OperationError: --from must be" in err
