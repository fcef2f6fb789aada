"""`cdk-streams redrive` and `cdk-streams backfill`: the error paths that need no AWS,
and which stream a run's lines go to.

Each expected error is one line on stderr naming the command and exit status 2 (a
failed AWS call too, with a hint); --debug shows the traceback first. The commands'
successful runs are in test_operations_local.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cdk_streams.cli import main
from cdk_streams.operations import backfill, on_failure_source
from cdk_streams.operations.on_failure_source import BatchInfo, FailureMessage

HANDLER_DIR = Path(__file__).parent / "fixtures" / "ops_app" / "handler"
AWS = ["--region", "us-east-1", "--endpoint-url", "http://localhost:9"]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    status = main(list(argv))
    err = capsys.readouterr().err
    return status, err


@pytest.fixture
def no_region(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No region anywhere boto3 looks: the environment, a profile, the config file."""
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))


def local(handler: str = "ops.handler", handler_dir: object = HANDLER_DIR) -> list[str]:
    """The options of a local handler target."""
    return ["--handler-dir", str(handler_dir), "--handler", handler]


# Every one needs no AWS, so each is the error reported even without a region.
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["redrive", "--from", "nowhere", "--function", "f"],
            "cdk-streams redrive: --from must be an SQS queue URL, a queue ARN or "
            "s3://bucket/prefix, got 'nowhere'",
        ),
        (
            ["redrive", "--from", "foo"],
            "cdk-streams redrive: --from must be an SQS queue URL, a queue ARN or "
            "s3://bucket/prefix, got 'foo'",
        ),
        (
            ["redrive", "--from", "s3://", "--function", "f"],
            "cdk-streams redrive: --from s3://BUCKET/PREFIX needs a bucket, got 's3://'",
        ),
        (
            ["redrive", "--from", "arn:aws:sqs:us-east-1:123", "--function", "f"],
            "cdk-streams redrive: --from as a queue ARN must be "
            "arn:aws:sqs:REGION:ACCOUNT:QUEUE, got 'arn:aws:sqs:us-east-1:123'",
        ),
        (
            ["redrive", "--from", "s3://b/p", "--function", "f", "--handler", "ops.handler"],
            "cdk-streams redrive: give either --function or --handler-dir with --handler, not both",
        ),
        (
            ["redrive", "--from", "s3://b/p", "--function", "f", *local()],
            "cdk-streams redrive: give either --function or --handler-dir with --handler, not both",
        ),
        (
            ["redrive", "--from", "s3://b/p"],
            "cdk-streams redrive: say where the records go: --function NAME, or --handler-dir "
            "DIR --handler module.function",
        ),
        (
            ["redrive", "--from", "s3://b/p", "--handler", "ops.handler"],
            "cdk-streams redrive: --handler-dir and --handler go together",
        ),
        (
            ["backfill", "--table", "t", "--handler-dir", "handlers"],
            "cdk-streams backfill: --handler-dir and --handler go together",
        ),
        (
            ["redrive", "--from", "s3://b/p", *local(handler_dir="/no/such/dir")],
            "cdk-streams redrive: --handler-dir /no/such/dir is not a directory",
        ),
        (
            ["backfill", "--table", "t", *local(handler_dir="/no/such/dir")],
            "cdk-streams backfill: --handler-dir /no/such/dir is not a directory",
        ),
        (
            ["redrive", "--from", "s3://b/p", *local("ops")],
            # The same words as at synth and in local invoke.
            "cdk-streams redrive: --handler: handler must be 'module.function' (or "
            "'module:function') inside handler_dir, got 'ops'",
        ),
        (
            ["redrive", "--from", "s3://b/p", *local("ops:missing")],
            "cdk-streams redrive: --handler: handler must be a function that ops.py defines or "
            "assigns at module level (def missing(event, context): ... or missing = "
            "router.handler), got 'ops:missing', which ops.py does not define",
        ),
        # The closest name the module defines, as local invoke and synth suggest it.
        (
            ["redrive", "--from", "s3://b/p", *local("ops.handlr")],
            "cdk-streams redrive: --handler: handler must be a function that ops.py defines or "
            "assigns at module level (def handlr(event, context): ... or handlr = "
            "router.handler), got 'ops.handlr', which ops.py does not define; did you mean "
            "ops.handler?",
        ),
        (
            ["redrive", "--from", "s3://b/p", "--function", "f", "--batch-size", "0"],
            "cdk-streams redrive: --batch-size must be 1..10000, got 0",
        ),
        (
            ["backfill", "--table", "t", "--function", "f", "--batch-size", "0"],
            "cdk-streams backfill: --batch-size must be 1..10000, got 0",
        ),
        (
            ["backfill", "--table", "t", "--function", "f", "--segments", "0"],
            "cdk-streams backfill: --segments must be 1..1000000, got 0",
        ),
        (
            ["backfill", "--table", "t", "--function", "f", "--concurrency", "0"],
            "cdk-streams backfill: --concurrency must be at least 1, got 0",
        ),
        (
            ["backfill", "--table", "t", "--function", "f", "--retry-attempts", "-1"],
            "cdk-streams backfill: --retry-attempts must be 0 or more, got -1",
        ),
        (
            ["backfill", "--table", "t", "--function", "f", "--from-export", "exports/x"],
            "cdk-streams backfill: --from-export must be s3://bucket/prefix, got 'exports/x'",
        ),
    ],
)
@pytest.mark.usefixtures("no_region")
def test_option_errors_are_one_line_and_exit_2_before_the_region_is_looked_for(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    status, err = run(capsys, *argv)
    assert (status, err) == (2, message + "\n")


@pytest.mark.parametrize(
    "argv",
    [
        ["backfill", "--table", "t", "--function", "f"],
        ["redrive", "--from", "s3://b/p", *local()],
    ],
)
@pytest.mark.usefixtures("no_region")
def test_with_good_options_no_region_says_how_to_give_one(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    status, err = run(capsys, *argv)
    assert (status, err) == (
        2,
        f"cdk-streams {argv[0]}: no AWS region: pass --region or set AWS_REGION\n",
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
    monkeypatch.setattr(on_failure_source, "SqsSource", _raises(_access_denied()))
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
    monkeypatch.setattr(on_failure_source, "SqsSource", _raises(_access_denied()))
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
    monkeypatch.setattr(on_failure_source, "SqsSource", _raises(RuntimeError("boom")))
    status, err = run(capsys, *REDRIVE, *AWS)
    assert (status, err) == (
        1,
        "cdk-streams redrive: unexpected RuntimeError: boom "
        "(run again with --debug for the traceback)\n",
    )


@pytest.mark.parametrize(
    ("argv", "patch"),
    [
        (REDRIVE, (on_failure_source, "SqsSource")),
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


STREAM = "arn:aws:dynamodb:us-east-1:123456789012:table/Orders/stream/2026-01-01T00:00:00.000"
FIRST = 4421584500000000017450439091


class OneSkippedBatch:
    """An S3 on-failure destination holding one skipped batch of two records."""

    description = "s3://failures/"

    def __init__(self) -> None:
        self.records = [
            {
                "eventName": "INSERT",
                "dynamodb": {
                    "SequenceNumber": str(FIRST + n),
                    "ApproximateCreationDateTime": 1_700_000_000.0,
                    "Keys": {"pk": {"S": f"k{n}"}},
                },
            }
            for n in range(2)
        ]
        self.removed: list[str] = []

    def messages(self) -> Iterator[FailureMessage]:
        info = BatchInfo(
            stream_arn=STREAM,
            shard_id="shardId-1",
            start=str(FIRST),
            end=str(FIRST + 1),
            batch_size=2,
            first_arrival="",
            function_arn=None,  # no mapping to look up: the defaults apply
            condition="RetryAttemptsExhausted",
        )
        yield FailureMessage("failures/one", info, records=self.records)

    def remove(self, message: FailureMessage) -> None:
        self.removed.append(message.id)

    def release(self, message: FailureMessage) -> None:
        pass


def test_a_record_that_fails_again_is_one_line_on_stderr_only(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "second_fails.py").write_text(
        "def handler(event, context):\n"
        "    second = event['Records'][1:]\n"
        "    return {'batchItemFailures': [\n"
        "        {'itemIdentifier': r['dynamodb']['SequenceNumber']} for r in second\n"
        "    ]}\n"
    )
    source = OneSkippedBatch()
    monkeypatch.setattr(on_failure_source, "S3Source", lambda s3, bucket, prefix: source)
    argv = ["redrive", "--from", "s3://failures/", *local("second_fails.handler", tmp_path)]

    status = main([*argv, *AWS])

    out, err = capsys.readouterr()
    failed_again = (
        f"  {STREAM} shardId-1 {FIRST}..{FIRST + 1}: record {FIRST + 1} failed again "
        "(reported in batchItemFailures); 1 record(s) from it on not replayed; "
        "message failures/one kept\n"
    )
    # Progress, like the line of a range that succeeded: on stderr, once.
    assert err.count(failed_again) == 1
    # The result: the report alone.
    assert (
        out == "replayed 2, succeeded 1, still failing 1, expired 0; 0 message(s) removed, 1 kept\n"
    )
    assert (status, source.removed) == (1, [])
