"""End to end in the local cloud: redrive and backfill against a real CDK deploy.

One deploy (tests/fixtures/ops_app) for the whole module. Each test uses its own
keys and its own "fix" flag, and reads what the handler processed from
STATE_DIR/processed.jsonl (the deployed functions and the in-process handler
write to the same file).
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from cdk_streams.local import Deployment, LocalCloud
from cdk_streams.operations.backfill import Backfill
from cdk_streams.operations.on_failure_source import S3Source, SqsSource
from cdk_streams.operations.redrive import Redrive
from cdk_streams.operations.targets import FunctionTarget, LocalHandlerTarget
from cdk_streams.streams.on_failure import FailedBatch, destination_record

pytestmark = pytest.mark.slow

APP = Path(__file__).parent / "fixtures" / "ops_app"
HANDLER_DIR = APP / "handler"


class Env:
    def __init__(self, cloud: LocalCloud, deployment: Deployment, state: Path) -> None:
        self.cloud = cloud
        self.deployment = deployment
        self.state = state
        self.ddb = cloud.client("dynamodb")

    def table(self, name: str) -> str:
        return self.deployment.table_name(f"{name}Table")

    def function(self, name: str) -> str:
        return self.deployment.function_name(f"{name}Function")

    def put(self, table: str, pk: str, **attributes: Any) -> None:
        item = {"pk": {"S": pk}}
        for key, value in attributes.items():
            item[key] = {"N": str(value)} if isinstance(value, int) else {"S": str(value)}
        self.ddb.put_item(TableName=self.table(table), Item=item)

    def processed(self, prefix: str) -> list[dict[str, Any]]:
        path = self.state / "processed.jsonl"
        if not path.exists():
            return []
        lines = [json.loads(line) for line in path.read_text().splitlines()]
        return [line for line in lines if line["pk"].startswith(prefix)]

    def fix(self, flag: str) -> None:
        (self.state / flag).touch()

    def queue_depth(self, url: str) -> int:
        attributes = self.cloud.client("sqs").get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    state = tmp_path_factory.mktemp("ops-state")
    with LocalCloud() as cloud:
        deployment = cloud.deploy(
            cwd=APP, env={"CDK_STREAMS_STATE_DIR": str(state), "CDK_VALIDATION": "false"}
        )
        yield Env(cloud, deployment, state)


@pytest.fixture
def in_process_handler(env: Env, monkeypatch: pytest.MonkeyPatch) -> LocalHandlerTarget:
    """The fixture's handler loaded in this process, writing where the deployed ones write."""
    monkeypatch.setenv("STATE_DIR", str(env.state))
    monkeypatch.setenv("ROLE", "local")
    return LocalHandlerTarget(HANDLER_DIR, "ops.handler")


def test_invoke_runs_the_deployed_code(env: Env) -> None:
    lambda_client = env.cloud.client("lambda")
    answer = lambda_client.invoke(
        FunctionName=env.function("Orders"), Payload=b'{"Records": []}', LogType="Tail"
    )
    assert json.loads(answer["Payload"].read()) == {"batchItemFailures": []}
    assert "FunctionError" not in answer
    log = base64.b64decode(answer["LogResult"]).decode()
    assert log.startswith("START RequestId: ") and "\nREPORT RequestId: " in log
    broken = lambda_client.invoke(FunctionName=env.function("Orders"), Payload=b"{}")
    assert broken["FunctionError"] == "Unhandled"
    assert json.loads(broken["Payload"].read())["errorType"] == "KeyError"
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        lambda_client.invoke(FunctionName="no-such-function", Payload=b"{}")


def test_poison_record_redriven_to_the_fixed_function_and_removed(env: Env) -> None:
    for n in range(5):
        env.put("Orders", f"sqs-{n}", version=n, **({"fix": "fix-sqs"} if n == 2 else {}))
    env.cloud.drain()
    queue = env.deployment.queue_url("OrdersDeadLetterQueue")
    assert env.queue_depth(queue) == 1
    assert sorted(r["pk"] for r in env.processed("sqs-")) == ["sqs-0", "sqs-1", "sqs-3", "sqs-4"]
    clients = env.cloud.client
    target = FunctionTarget(clients("lambda"), env.function("Orders"))

    lines: list[str] = []
    dry = Redrive(
        SqsSource(clients("sqs"), queue, wait_seconds=0),
        target,
        clients,
        dry_run=True,
        progress=lines.append,
        clock=lambda: 4_000_000_000.0,
    ).run()
    assert (dry.messages, dry.batches, dry.records, dry.replayed) == (1, 1, 1, 0)
    assert dry.oldest_age is not None and dry.oldest_age > 0
    assert any("1 record(s) in 1 batch(es) of up to 10" in line for line in lines)
    assert env.queue_depth(queue) == 1 and len(env.processed("sqs-2")) == 0

    still_broken = Redrive(SqsSource(clients("sqs"), queue, wait_seconds=0), target, clients).run()
    assert (still_broken.replayed, still_broken.succeeded, still_broken.still_failing) == (1, 0, 1)
    assert (still_broken.removed, still_broken.kept) == (0, 1)
    assert env.queue_depth(queue) == 1  # left in place, visible again at once

    env.fix("fix-sqs")
    report = Redrive(SqsSource(clients("sqs"), queue, wait_seconds=0), target, clients).run()
    assert (report.replayed, report.succeeded, report.still_failing, report.expired) == (1, 1, 0, 0)
    assert report.removed == 1 and env.queue_depth(queue) == 0
    redriven = env.processed("sqs-2")
    assert [(r["role"], r["event"], r["version"], r["backfill"]) for r in redriven] == [
        ("Orders", "INSERT", "2", False)
    ]
    again = Redrive(SqsSource(clients("sqs"), queue, wait_seconds=0), target, clients).run()
    assert (again.messages, again.replayed) == (0, 0)


def test_range_no_longer_in_the_stream_is_reported_and_kept(
    env: Env, in_process_handler: LocalHandlerTarget, tmp_path: Path
) -> None:
    ddb, sqs = env.ddb, env.cloud.client("sqs")
    ddb.create_table(
        TableName="gone",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    stream_arn = ddb.describe_table(TableName="gone")["Table"]["LatestStreamArn"]
    records = [
        {
            "eventName": "INSERT",
            "dynamodb": {"SequenceNumber": str(n), "ApproximateCreationDateTime": 1.7e9},
        }
        for n in (
            4421584500000000017450439091,
            4421584500000000017450439092,
            4421584500000000017450439093,
        )
    ]
    body = destination_record(
        FailedBatch(
            mapping_uuid="u-1",
            function_arn="arn:aws:lambda:us-east-1:123456789012:function:f",
            stream_arn=stream_arn,
            shard_id="shardId-00000001541626099285-f35f62ef",
            records=records,
            condition="RecordAgeExceeded",
            invoke_count=0,
            request_id="r-1",
            function_error=None,
            failed_at=1.7e9,
        )
    )
    ddb.delete_table(TableName="gone")  # its stream and shard are gone with it
    queue = sqs.create_queue(QueueName="expired-ranges")["QueueUrl"]
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(body))
    lines: list[str] = []

    report = Redrive(
        SqsSource(sqs, queue, wait_seconds=0),
        in_process_handler,
        env.cloud.client,
        archive_dir=tmp_path / "archive",
        progress=lines.append,
        batch_size=10,
    ).run()

    assert (report.expired, report.replayed, report.kept, report.removed) == (3, 0, 1, 0)
    (problem,) = report.problems
    assert problem.startswith(
        f"{stream_arn} shardId-00000001541626099285-f35f62ef "
        "4421584500000000017450439091..4421584500000000017450439093: "
        "3 record(s) lost (the shard or its stream no longer exists"
    )
    assert env.queue_depth(queue) == 1
    (archived,) = report.archived
    saved = json.loads(archived.read_text())
    assert saved["lost"] == 3 and saved["Records"] == [] and saved["onFailure"] == body


def test_s3_on_failure_object_replayed_to_a_local_handler(
    env: Env, in_process_handler: LocalHandlerTarget
) -> None:
    env.put("Archived", "s3-0", version=1)
    env.put("Archived", "s3-1", version=2, fix="fix-s3")
    env.cloud.drain()
    bucket = env.deployment.find("AWS::S3::Bucket", "ArchivedFailureArchive").physical_id
    s3 = env.cloud.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert len(keys) == 1 and keys[0].startswith("aws/lambda/")
    env.fix("fix-s3")

    report = Redrive(
        S3Source(s3, bucket, "aws/lambda/"), in_process_handler, env.cloud.client
    ).run()

    assert (report.replayed, report.succeeded, report.removed) == (1, 1, 1)
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0
    assert [(r["role"], r["version"]) for r in env.processed("s3-1")] == [("local", "2")]


class _Crash(Exception):
    pass


class _CrashAfter:
    """A target that dies (as a killed process would) after ``n`` invocations."""

    def __init__(self, target: LocalHandlerTarget, n: int) -> None:
        self._target, self._left, self.name = target, n, "crashing"
        self._lock = threading.Lock()

    def check(self) -> None:
        self._target.check()

    def invoke(self, event: dict[str, Any]) -> Any:
        with self._lock:
            if self._left == 0:
                raise _Crash("killed")
            self._left -= 1
        return self._target.invoke(event)


def _write_items(env: Env, prefix: str, count: int) -> None:
    for n in range(count):
        env.put("Catalog", f"{prefix}{n:03d}", version=0)


def test_backfill_resumes_after_a_kill(
    env: Env, in_process_handler: LocalHandlerTarget, tmp_path: Path
) -> None:
    _write_items(env, "bf-", 60)
    env.cloud.drain()
    checkpoint = tmp_path / "checkpoint.json"
    settings = {"segments": 4, "batch_size": 5, "concurrency": 2, "checkpoint": checkpoint}

    with pytest.raises(_Crash):
        Backfill(
            env.cloud.client, env.table("Catalog"), _CrashAfter(in_process_handler, 3), **settings
        ).run()
    first = {r["pk"] for r in env.processed("bf-") if r["backfill"]}
    assert 0 < len(first) < 60
    saved = json.loads(checkpoint.read_text())["segments"]
    assert not all(segment["done"] for segment in saved.values())
    assert 0 < sum(segment["items"] for segment in saved.values()) < 60

    report = Backfill(
        env.cloud.client, env.table("Catalog"), in_process_handler, resume=True, **settings
    ).run()

    backfilled = [r for r in env.processed("bf-") if r["backfill"]]
    assert {r["pk"] for r in backfilled} == {f"bf-{n:03d}" for n in range(60)}
    assert all(r["event"] == "INSERT" and r["version"] == "0" for r in backfilled)
    # Only pages in flight at the kill are delivered twice: at most one per worker.
    assert len(backfilled) - 60 <= 2 * 5
    assert report.failed == [] and not report.stopped
    in_table = env.ddb.scan(TableName=env.table("Catalog"), Select="COUNT")["Count"]
    assert report.items < in_table  # the resumed run did not start over
    segments = json.loads(checkpoint.read_text())["segments"].values()
    assert all(s["done"] for s in segments) and sum(s["items"] for s in segments) >= in_table


def test_backfill_with_the_deployed_function_alongside_live_writes(
    env: Env, tmp_path: Path
) -> None:
    _write_items(env, "live-", 40)
    target = FunctionTarget(env.cloud.client("lambda"), env.function("Catalog"))
    final: dict[str, int] = {f"live-{n:03d}": 0 for n in range(40)}

    def writes() -> None:
        for n in range(0, 40, 2):
            env.put("Catalog", f"live-{n:03d}", version=1)
            final[f"live-{n:03d}"] = 1
        for n in range(40, 50):
            env.put("Catalog", f"live-{n:03d}", version=0)
            final[f"live-{n:03d}"] = 0

    writer = threading.Thread(target=writes)
    writer.start()
    report = Backfill(
        env.cloud.client,
        env.table("Catalog"),
        target,
        segments=3,
        batch_size=7,
        checkpoint=tmp_path / "cp.json",
    ).run()
    writer.join()
    env.cloud.drain()

    seen: dict[str, set[str]] = {}
    for record in env.processed("live-"):
        seen.setdefault(record["pk"], set()).add(record["version"])
    assert set(seen) == set(final)  # every item processed at least once
    for pk, version in final.items():
        assert str(version) in seen[pk], pk  # and its last change is never lost
    assert report.failed == [] and report.items >= 40
    assert any(r["backfill"] and r["role"] == "Catalog" for r in env.processed("live-"))


def test_cli_redrive_lists_then_replays_then_finds_nothing(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    from cdk_streams.cli import main

    env.put("Orders", "cli-0", version=7, fix="fix-cli")
    env.cloud.drain()
    queue = env.deployment.queue_url("OrdersDeadLetterQueue")
    argv = [
        "redrive",
        "--from",
        queue,
        "--endpoint-url",
        env.cloud.endpoint_url,
        "--region",
        "us-east-1",
    ]

    assert main([*argv, "--dry-run"]) == 0
    out, err = capsys.readouterr()
    assert "1 record(s) in 1 batch(es) of up to 10" in err
    assert out.startswith("dry run: 1 message(s), 1 batch(es), 1 record(s) to replay; expired 0")

    env.fix("fix-cli")
    assert main([*argv, "--function", env.function("Orders")]) == 0
    out, err = capsys.readouterr()
    assert (
        out == "replayed 1, succeeded 1, still failing 0, expired 0; 1 message(s) removed, 0 kept\n"
    )
    assert [r["version"] for r in env.processed("cli-0")] == ["7"]

    assert main([*argv, "--function", env.function("Orders")]) == 0
    assert capsys.readouterr().out.startswith("replayed 0, succeeded 0")


def test_cli_backfill_errors_and_a_run(
    env: Env, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cdk_streams.cli import main

    monkeypatch.setenv("STATE_DIR", str(env.state))
    aws = ["--endpoint-url", env.cloud.endpoint_url, "--region", "us-east-1"]
    local = ["--handler-dir", str(HANDLER_DIR), "--handler", "ops:handler"]
    checkpoint = tmp_path / "cp.json"

    assert main(["backfill", "--table", "missing", *local, *aws]) == 2
    assert capsys.readouterr().err == (
        "cdk-streams backfill: --table missing: no such table in this account and region\n"
    )
    table = env.table("Catalog")
    # A wrong --function is refused before the scan: no read units spent, no checkpoint.
    with monkeypatch.context() as patch:
        patch.setattr(
            "cdk_streams.operations.backfill.ScanPages", lambda *args: pytest.fail("scanned")
        )
        no_function = ["--function", "NoSuchFn", "--checkpoint", str(checkpoint)]
        assert main(["backfill", "--table", table, *no_function, *aws]) == 2
    assert capsys.readouterr().err == (
        "cdk-streams backfill: no function named NoSuchFn in this account and region\n"
    )
    assert not checkpoint.exists()
    assert (
        main(
            [
                "backfill",
                "--table",
                table,
                *local,
                *aws,
                "--resume",
                "--checkpoint",
                str(checkpoint),
            ]
        )
        == 2
    )
    assert capsys.readouterr().err == (
        f"cdk-streams backfill: --resume: no checkpoint at {checkpoint}; run without "
        "--resume to start\n"
    )
    env.put("Catalog", "clibf-0", version=3)
    assert (
        main(
            [
                "backfill",
                "--table",
                table,
                *local,
                *aws,
                "--segments",
                "2",
                "--checkpoint",
                str(checkpoint),
            ]
        )
        == 0
    )
    out, err = capsys.readouterr()
    assert "2 of 2 segment(s) to scan" in err and ", 0 failed, " in out
    assert [r["backfill"] for r in env.processed("clibf-0") if r["role"] == "local"] == [True]


def test_backfill_from_a_table_export(
    env: Env, in_process_handler: LocalHandlerTarget, tmp_path: Path
) -> None:
    import time

    _write_items(env, "exp-", 12)
    env.cloud.drain()
    ddb, s3 = env.ddb, env.cloud.client("s3")
    s3.create_bucket(Bucket="exports")
    # The template turns point-in-time recovery on, but the emulator's CloudFormation
    # does not apply PointInTimeRecoverySpecification; the API call does.
    ddb.update_continuous_backups(
        TableName=env.table("Catalog"),
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
    )
    table_arn = ddb.describe_table(TableName=env.table("Catalog"))["Table"]["TableArn"]
    export = ddb.export_table_to_point_in_time(
        TableArn=table_arn, S3Bucket="exports", S3Prefix="catalog", ExportFormat="DYNAMODB_JSON"
    )["ExportDescription"]
    for _ in range(200):  # the emulator writes the export in a thread, in milliseconds
        status = ddb.describe_export(ExportArn=export["ExportArn"])["ExportDescription"]
        if status["ExportStatus"] != "IN_PROGRESS":
            break
        time.sleep(0.01)
    assert status["ExportStatus"] == "COMPLETED"

    report = Backfill(
        env.cloud.client,
        env.table("Catalog"),
        in_process_handler,
        batch_size=5,
        checkpoint=tmp_path / "cp.json",
        from_export="s3://exports/catalog",
    ).run()

    backfilled = {r["pk"] for r in env.processed("exp-") if r["backfill"]}
    assert backfilled == {f"exp-{n:03d}" for n in range(12)}
    assert report.failed == [] and report.segments == 1


def test_backfill_from_export_errors(env: Env, in_process_handler: LocalHandlerTarget) -> None:
    from cdk_streams.operations.errors import OperationError

    env.cloud.client("s3").create_bucket(Bucket="empty-exports")
    with pytest.raises(OperationError) as error:
        Backfill(
            env.cloud.client,
            env.table("Catalog"),
            in_process_handler,
            from_export="s3://empty-exports/nothing",
        )
    assert str(error.value) == (
        "--from-export s3://empty-exports/nothing: no export data files "
        "(AWSDynamoDB/<id>/data/*.gz) there; export the table in DYNAMODB_JSON format and "
        "pass its S3 prefix"
    )
    with pytest.raises(OperationError, match="--segments does not apply with --from-export"):
        Backfill(
            env.cloud.client,
            env.table("Catalog"),
            in_process_handler,
            segments=2,
            from_export="s3://empty-exports/nothing",
        )


BLOCKING_HANDLER = """
import os, pathlib, time

def handler(event, context):
    state = pathlib.Path(os.environ["GATE_DIR"])
    (state / "started").touch()
    for _ in range(3000):  # until the test opens the gate (at most 30 s)
        if (state / "open").exists():
            break
        time.sleep(0.01)
    return {"batchItemFailures": []}
"""


def test_cli_backfill_stops_cleanly_on_sigterm_and_resumes(env: Env, tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    _write_items(env, "term-", 30)
    handler_dir = tmp_path / "handler"
    handler_dir.mkdir()
    (handler_dir / "gate.py").write_text(BLOCKING_HANDLER)
    checkpoint = tmp_path / "cp.json"
    argv = [
        sys.executable,
        "-m",
        "cdk_streams.cli",
        "backfill",
        "--table",
        env.table("Catalog"),
        "--handler-dir",
        str(handler_dir),
        "--handler",
        "gate.handler",
        "--segments",
        "2",
        "--batch-size",
        "10",
        "--checkpoint",
        str(checkpoint),
        "--endpoint-url",
        env.cloud.endpoint_url,
        "--region",
        "us-east-1",
    ]
    process_env = {**os.environ, "GATE_DIR": str(tmp_path)}
    process = subprocess.Popen(
        argv, env=process_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        for _ in range(3000):
            if (tmp_path / "started").exists():
                break
            time.sleep(0.01)
        assert (tmp_path / "started").exists()
        process.send_signal(signal.SIGTERM)
        assert process.stderr is not None
        lines = []
        while not lines or "stopping after the batches in flight" not in lines[-1]:
            lines.append(process.stderr.readline())
            assert lines[-1], "".join(lines)  # EOF before the stop was acknowledged
        (tmp_path / "open").touch()  # the batches in flight may finish now
        _, rest = process.communicate(timeout=60)
        err = "".join(lines) + rest
    finally:
        process.kill()
    assert process.returncode == 130
    assert err.endswith(
        f"backfill {env.table('Catalog')}: resume with --resume (checkpoint {checkpoint})\n"
        "cdk-streams backfill: interrupted; stopped cleanly\n"
    )
    assert "Traceback" not in err
    saved = json.loads(checkpoint.read_text())["segments"]
    assert not all(segment["done"] for segment in saved.values())

    resumed = subprocess.run(
        [*argv, "--resume"], env=process_env, capture_output=True, text=True, timeout=60
    )
    assert resumed.returncode == 0, resumed.stderr
    assert all(
        segment["done"] for segment in json.loads(checkpoint.read_text())["segments"].values()
    )
