"""`cdk-streams redrive` and `cdk-streams backfill`: the error paths that need no AWS.

Each expected error is one line on stderr naming the command and exit status 2 (a
failed AWS call too, with a hint); --debug shows the traceback first. The commands'
successful runs are in test_operations_local.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cdk_streams.cli import main
from cdk_streams.operations import backfill, on_failure_source

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
    assert err.endswith(
        "\ncdk-streams redrive: --from must be an SQS queue URL, a queue ARN or "
        "s3://bucket/prefix, got 'nowhere'\n"
    )


def _raises(error: BaseException):  # type: ignore[no-untyped-def]
    def fail(*args: object, **kwargs: object) -> None:
        raise error

    return fail


def _access_denied() -> Exception:
    from botocore.exceptions import ClientError

    return ClientError(
        {"Error": {"Code": "AccessDenied", "Message": "not allowed"}}, "ReceiveMessage"
    )


REDRIVE = ["redrive", "--from", "https://sqs.us-east-1.amazonaws.com/1/q", "--function", "f"]
AWS_HINT = "; check --endpoint-url, --region and your credentials\n"


def test_a_failed_aws_call_is_one_line_with_a_hint_and_exit_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(on_failure_source, "open_source", _raises(_access_denied()))
    status, err = run(capsys, *REDRIVE, *AWS)
    assert (status, err) == (
        2,
        "cdk-streams redrive: AWS call failed: An error occurred (AccessDenied) when calling "
        "the ReceiveMessage operation: not allowed" + AWS_HINT,
    )


def test_botocores_own_errors_get_the_hint_too(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import EndpointConnectionError

    refused = EndpointConnectionError(endpoint_url="http://localhost:9")
    monkeypatch.setattr(backfill, "Backfill", _raises(refused))
    status, err = run(capsys, "backfill", "--table", "t", "--function", "f", *AWS)
    assert (status, err) == (
        2,
        "cdk-streams backfill: AWS call failed: Could not connect to the endpoint URL: "
        '"http://localhost:9"' + AWS_HINT,
    )


def test_debug_shows_the_traceback_of_a_failed_aws_call(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(on_failure_source, "open_source", _raises(_access_denied()))
    status, err = run(capsys, *REDRIVE, *AWS, "--debug")
    assert status == 2
    assert err.startswith("Traceback (most recent call last):")
    assert "botocore.exceptions.ClientError: An error occurred (AccessDenied)" in err
    assert err.endswith(
        "\ncdk-streams redrive: AWS call failed: An error occurred (AccessDenied) when calling "
        "the ReceiveMessage operation: not allowed" + AWS_HINT
    )


def test_a_bug_is_one_line_and_exit_1(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(on_failure_source, "open_source", _raises(RuntimeError("boom")))
    status, err = run(capsys, *REDRIVE, *AWS)
    assert (status, err) == (
        1,
        "cdk-streams redrive: unexpected RuntimeError: boom "
        "(run again with --debug for the traceback)\n",
    )


@pytest.mark.parametrize(
    ("argv", "patch"),
    [
        (REDRIVE, (on_failure_source, "open_source")),
        (["backfill", "--table", "t", "--function", "f"], (backfill, "Backfill")),
    ],
)
def test_ctrl_c_is_one_line_and_exit_130(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    patch: tuple[object, str],
) -> None:
    monkeypatch.setattr(*patch, _raises(KeyboardInterrupt()))
    status, err = run(capsys, *argv, *AWS)
    assert (status, err) == (130, f"cdk-streams {argv[0]}: interrupted; stopped cleanly\n")


def test_an_interrupted_backfill_says_how_to_resume_before_the_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    class Interrupted:
        checkpoint_path = Path("cp.json")

        def __init__(self, *args: object, **kwargs: object) -> None:
            pass

        def run(self) -> None:
            raise KeyboardInterrupt

    monkeypatch.setattr(backfill, "Backfill", Interrupted)
    status, err = run(capsys, "backfill", "--table", "t", "--function", "f", *AWS)
    assert (status, err) == (
        130,
        "backfill t: resume with --resume (checkpoint cp.json)\n"
        "cdk-streams backfill: interrupted; stopped cleanly\n",
    )
