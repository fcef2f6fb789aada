"""The operations' rules against fake AWS clients and targets: no emulator needed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import runtime_path  # noqa: F401  (puts lambda_src on sys.path)
from botocore.exceptions import ClientError
from stream_runtime import ChangeRecord

from cdk_streams.operations.backfill_records import (
    BACKFILL_MARKER,
    backfill_record,
    item_keys,
)
from cdk_streams.operations.on_failure_source import (
    FailureMessage,
    UnreadableMessage,
    parse_on_failure_record,
)
from cdk_streams.operations.progress import ProgressMeter
from cdk_streams.operations.redrive import Redrive
from cdk_streams.operations.stream_range import fetch_range
from cdk_streams.streams.delivery import InvokeOutcome
from cdk_streams.streams.on_failure import FailedBatch, destination_record

STREAM = "arn:aws:dynamodb:us-east-1:123456789012:table/Orders/stream/2026-01-01T00:00:00.000"
SHARD = "shardId-1"
BASE = 4421584500000000017450439000


def raw(n: int) -> dict[str, Any]:
    return {
        "eventID": f"e{n}",
        "eventName": "INSERT",
        "dynamodb": {
            "SequenceNumber": str(BASE + n),
            "ApproximateCreationDateTime": 1_700_000_000.0,
            "Keys": {"pk": {"S": f"k{n}"}},
        },
    }


def body(first: int, last: int) -> dict[str, Any]:
    records = [
        {"dynamodb": {"SequenceNumber": str(BASE + n), "ApproximateCreationDateTime": 1.7e9}}
        for n in range(first, last + 1)
    ]
    return destination_record(
        FailedBatch(
            mapping_uuid="u",
            function_arn="arn:aws:lambda:us-east-1:123456789012:function:f",
            stream_arn=STREAM,
            shard_id=SHARD,
            records=records,
            condition="RetryAttemptsExhausted",
            invoke_count=1,
            request_id="r",
            function_error="Unhandled",
            failed_at=1.7e9,
        )
    )


def error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, "GetShardIterator")


class FakeStreams:
    """A DynamoDB stream shard holding records ``oldest``..``newest``."""

    def __init__(self, oldest: int, newest: int, *, gone: bool = False) -> None:
        self.records = [raw(n) for n in range(oldest, newest + 1)]
        self.gone = gone
        self.reads = 0

    def get_shard_iterator(self, **kwargs: Any) -> dict[str, str]:
        if self.gone:
            raise error("ResourceNotFoundException")
        if kwargs["ShardIteratorType"] == "TRIM_HORIZON":
            return {"ShardIterator": "0"}
        wanted = int(kwargs["SequenceNumber"])
        if wanted < int(self.records[0]["dynamodb"]["SequenceNumber"]):
            raise error("TrimmedDataAccessException")
        index = next(
            i for i, r in enumerate(self.records) if int(r["dynamodb"]["SequenceNumber"]) >= wanted
        )
        return {"ShardIterator": str(index)}

    def get_records(self, ShardIterator: str, Limit: int) -> dict[str, Any]:
        self.reads += 1
        start = int(ShardIterator)
        page = self.records[start : start + 2]  # small pages: the loop must go on
        return {"Records": page, "NextShardIterator": str(start + len(page))}


def info(first: int, last: int):
    return parse_on_failure_record(body(first, last))


def test_fetch_range_reads_exactly_start_to_end_inclusive() -> None:
    streams = FakeStreams(0, 20)
    read = fetch_range(lambda service: streams, info(5, 9))
    assert read.complete and read.lost == 0
    assert [r["dynamodb"]["SequenceNumber"] for r in read.records] == [
        str(BASE + n) for n in range(5, 10)
    ]
    assert read.records[0]["eventSourceARN"] == STREAM  # the Lambda shape


def test_fetch_range_partly_trimmed_keeps_the_rest_and_counts_the_loss() -> None:
    read = fetch_range(lambda service: FakeStreams(7, 20), info(5, 9))
    assert [int(r["dynamodb"]["SequenceNumber"]) - BASE for r in read.records] == [7, 8, 9]
    assert read.lost == 2
    assert read.problem == "the start of the range is past the stream's trim horizon (expired)"


def test_fetch_range_of_a_gone_shard_loses_the_whole_batch() -> None:
    read = fetch_range(lambda service: FakeStreams(0, 1, gone=True), info(5, 9))
    assert (read.records, read.lost) == ([], 5)
    assert read.problem == "the shard or its stream no longer exists (ResourceNotFoundException)"


def test_fetch_range_whose_end_is_not_in_the_shard_is_incomplete() -> None:
    read = fetch_range(lambda service: FakeStreams(0, 6), info(5, 9), max_empty_reads=2)
    assert len(read.records) == 2 and read.lost == 3
    assert read.problem == "the range's end is no longer in the shard"


def test_sns_envelope_is_unwrapped_and_garbage_is_refused() -> None:
    envelope = {"Type": "Notification", "Message": json.dumps(body(1, 3))}
    parsed = parse_on_failure_record(envelope)
    assert (parsed.shard_id, parsed.start, parsed.end, parsed.batch_size) == (
        SHARD,
        str(BASE + 1),
        str(BASE + 3),
        3,
    )
    with pytest.raises(UnreadableMessage, match="no DDBStreamBatchInfo or KinesisBatchInfo"):
        parse_on_failure_record({"hello": 1})


class ListSource:
    description = "fake"

    def __init__(self, messages: list[FailureMessage]) -> None:
        self._messages = messages
        self.removed: list[str] = []
        self.released: list[str] = []

    def messages(self):
        yield from self._messages

    def remove(self, message: FailureMessage) -> None:
        self.removed.append(message.id)

    def release(self, message: FailureMessage) -> None:
        self.released.append(message.id)


class FailingAt:
    """Reports the record with sequence ``bad`` (and every later one) as failed."""

    name = "fake"

    def __init__(self, bad: int | None) -> None:
        self.bad = bad
        self.batches: list[list[int]] = []
        self.checked = False

    def check(self) -> None:
        self.checked = True

    def invoke(self, event: dict[str, Any]) -> InvokeOutcome:
        numbers = [int(r["dynamodb"]["SequenceNumber"]) - BASE for r in event["Records"]]
        self.batches.append(numbers)
        if self.bad in numbers:
            failed = numbers[numbers.index(self.bad) :]
            return InvokeOutcome(
                "r",
                True,
                {"batchItemFailures": [{"itemIdentifier": str(BASE + n)} for n in failed]},
            )
        return InvokeOutcome("r", True, {"batchItemFailures": []})


class NoMappings:
    """A Lambda client that knows no mapping (the defaults apply)."""

    def list_event_source_mappings(self, **kwargs: Any) -> dict[str, Any]:
        return {"EventSourceMappings": []}


def no_mappings(service: str) -> NoMappings:
    return NoMappings()


def s3_message(key: str, first: int, last: int) -> FailureMessage:
    record = {**body(first, last), "payload": {"Records": [raw(n) for n in range(first, last + 1)]}}
    return FailureMessage(
        key,
        parse_on_failure_record(record),
        records=record["payload"]["Records"],
        body=record,
        handle=key,
    )


def test_redrive_stops_a_message_at_its_first_failure_and_keeps_it() -> None:
    source = ListSource([s3_message("a", 0, 6), s3_message("b", 10, 12)])
    target = FailingAt(4)
    report = Redrive(source, target, no_mappings, batch_size=3).run()
    # Batches of 3, in order; the batch holding record 4 fails from 4 on, and
    # nothing after it in that message is delivered.
    assert target.batches == [[0, 1, 2], [3, 4, 5], [10, 11, 12]]
    assert (report.replayed, report.succeeded, report.still_failing) == (9, 7, 3)
    assert (source.removed, source.released) == (["b"], ["a"])
    assert report.problems[0].endswith("3 record(s) from it on not replayed; message a kept")


def test_dry_run_lists_and_delivers_nothing() -> None:
    source = ListSource([s3_message("a", 0, 6)])
    target = FailingAt(None)
    lines: list[str] = []
    report = Redrive(
        source,
        target,
        no_mappings,
        batch_size=3,
        dry_run=True,
        progress=lines.append,
        clock=lambda: 1_700_000_090.0,
    ).run()
    assert target.batches == [] and source.removed == [] and source.released == ["a"]
    assert (report.batches, report.records, report.oldest_age) == (3, 7, 90.0)
    assert str(report) == (
        "dry run: 1 message(s), 3 batch(es), 7 record(s) to replay; expired 0; "
        "oldest record 90 s old; nothing delivered or removed"
    )


def test_a_redrive_checks_its_target_and_batch_size_before_reading_anything() -> None:
    source = ListSource([s3_message("a", 0, 6)])
    target = FailingAt(None)
    Redrive(source, target, no_mappings, batch_size=3)
    assert target.checked and source.released == [] and source.removed == []
    from cdk_streams.operations.errors import OperationError

    # As a library call too, not only through the CLI's --batch-size.
    with pytest.raises(OperationError) as caught:
        Redrive(source, FailingAt(None), no_mappings, batch_size=0)
    assert str(caught.value) == "--batch-size must be 1..10000, got 0"


def test_a_report_without_records_says_so() -> None:
    from cdk_streams.operations.redrive import RedriveReport

    assert str(RedriveReport(dry_run=True)) == (
        "dry run: 0 message(s), 0 batch(es), 0 record(s) to replay; expired 0; "
        "no records; nothing delivered or removed"
    )


def test_backfill_record_is_a_marked_insert_in_the_view_type() -> None:
    item = {"pk": {"S": "o-1"}, "sk": {"N": "2"}, "blob": {"B": b"\x00\x01"}}
    record = backfill_record(
        item,
        key_names=["pk", "sk"],
        stream_arn=STREAM,
        view_type="NEW_AND_OLD_IMAGES",
        segment=1,
        position=5,
        created=1_700_000_000.0,
    )
    assert record[BACKFILL_MARKER] is True and record["eventName"] == "INSERT"
    assert record["eventSource"] == "aws:dynamodb" and record["eventSourceARN"] == STREAM
    assert record["dynamodb"]["NewImage"]["blob"] == {"B": "AAE="}
    assert "OldImage" not in record["dynamodb"]
    assert record["dynamodb"]["SequenceNumber"] == str(2 * 10**20 + 5)
    assert item_keys(record) == {"pk": "o-1", "sk": "2"}
    change = ChangeRecord(record)
    assert change.is_backfill and change.keys == {"pk": "o-1", "sk": 2}
    assert not ChangeRecord(raw(1) | {"eventSourceARN": STREAM}).is_backfill
    keys_only = backfill_record(
        item,
        key_names=["pk", "sk"],
        stream_arn=STREAM,
        view_type="KEYS_ONLY",
        segment=0,
        position=0,
        created=0.0,
    )
    assert "NewImage" not in keys_only["dynamodb"] and keys_only["dynamodb"]["Keys"]["pk"]
    with pytest.raises(ValueError, match="view_type must be one of"):
        backfill_record(
            item,
            key_names=["pk"],
            stream_arn=STREAM,
            view_type="ALL",
            segment=0,
            position=0,
            created=0.0,
        )


def test_progress_line_has_rate_eta_and_failures_on_a_fake_clock() -> None:
    now = [0.0]
    lines: list[str] = []
    meter = ProgressMeter("items", report=lines.append, clock=lambda: now[0], total=1000, every=5)
    now[0] = 2.0
    meter.add(100)
    assert lines == []  # not due yet
    now[0] = 5.0
    meter.add(150, failed=2)
    assert lines == ["250 items of ~1000 (25%), 50 items/s, ETA 15 s, 2 failed"]


def test_a_resumed_run_counts_the_earlier_runs_items_toward_the_total() -> None:
    now, lines = [0.0], []
    meter = ProgressMeter(
        "items",
        report=lines.append,
        clock=lambda: now[0],
        total=1000,
        every=5,
        earlier=600,
        earlier_failed=3,
    )
    now[0] = 5.0
    meter.add(250, failed=1)
    # The rate and the ETA are this run's; the share done and the failures are the
    # whole backfill's.
    assert lines == [
        "850 items of ~1000 (85%) (600 by an earlier run), 50 items/s, ETA 3 s, 4 failed"
    ]


def test_redrive_uses_the_mappings_batch_size_and_response_types() -> None:
    class OneMapping:
        def list_event_source_mappings(self, **kwargs: Any) -> dict[str, Any]:
            assert kwargs == {
                "FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:f",
                "EventSourceArn": STREAM,
            }
            return {
                "EventSourceMappings": [
                    {
                        "UUID": "u",
                        "FunctionArn": kwargs["FunctionName"],
                        "EventSourceArn": STREAM,
                        "BatchSize": 2,
                        "FunctionResponseTypes": [],
                    }
                ]
            }

    source = ListSource([s3_message("a", 0, 4)])
    target = FailingAt(1)  # reported, but the mapping does not read partial responses
    report = Redrive(source, target, lambda service: OneMapping()).run()
    assert target.batches == [[0, 1], [2, 3], [4]]
    assert (report.succeeded, report.removed) == (5, 1)


def test_an_interrupted_redrive_leaves_the_rest_in_place() -> None:
    class Interrupting(FailingAt):
        def invoke(self, event: dict[str, Any]) -> InvokeOutcome:
            if len(self.batches) == 1:
                raise KeyboardInterrupt
            return super().invoke(event)

    source = ListSource([s3_message("a", 0, 1), s3_message("b", 5, 6), s3_message("c", 8, 9)])
    with pytest.raises(KeyboardInterrupt):
        Redrive(source, Interrupting(None), no_mappings).run()
    assert (source.removed, source.released) == (["a"], ["b", "c"])


def test_fetch_range_reads_a_kinesis_shard_by_stream_name() -> None:
    kinesis_arn = "arn:aws:kinesis:us-east-1:123456789012:stream/orders-changes"
    calls: list[dict[str, Any]] = []

    class FakeKinesis:
        def get_shard_iterator(self, **kwargs: Any) -> dict[str, str]:
            calls.append(kwargs)
            return {"ShardIterator": "i"}

        def get_records(self, ShardIterator: str, Limit: int) -> dict[str, Any]:
            return {
                "Records": [
                    {
                        "SequenceNumber": str(n),
                        "Data": b"{}",
                        "PartitionKey": "k",
                        "ApproximateArrivalTimestamp": 1.7e9,
                    }
                    for n in (49590, 49591, 49592)
                ],
                "NextShardIterator": "j",
            }

    record = {
        "KinesisBatchInfo": {
            "shardId": "shardId-000000000000",
            "startSequenceNumber": "49590",
            "endSequenceNumber": "49591",
            "batchSize": 2,
            "approximateArrivalOfFirstRecord": "",
            "streamArn": kinesis_arn,
        },
    }
    read = fetch_range(lambda service: FakeKinesis(), parse_on_failure_record(record))
    assert calls == [
        {
            "StreamName": "orders-changes",
            "ShardId": "shardId-000000000000",
            "ShardIteratorType": "AT_SEQUENCE_NUMBER",
            "StartingSequenceNumber": "49590",
        }
    ]
    assert [r["kinesis"]["sequenceNumber"] for r in read.records] == ["49590", "49591"]
    assert read.complete


def test_clients_honour_aws_region_and_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    from cdk_streams.operations.aws import AwsClients

    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://localhost:9")
    clients = AwsClients()
    assert (clients.region, clients.endpoint_url) == ("eu-west-1", "http://localhost:9")
    assert clients("sqs").meta.endpoint_url == "http://localhost:9"
    explicit = AwsClients(region="us-west-2", endpoint_url="http://localhost:8")
    assert (explicit.region, explicit("s3").meta.region_name) == ("us-west-2", "us-west-2")
    assert clients("sqs") is clients("sqs")


def test_a_redrive_without_target_must_be_a_dry_run() -> None:
    from cdk_streams.operations.errors import OperationError

    with pytest.raises(OperationError, match="a redrive needs a target"):
        Redrive(ListSource([]), None, no_mappings)


class _Table:
    """A DynamoDB client with one streamed table that must never be scanned."""

    def describe_table(self, TableName: str) -> dict[str, Any]:
        return {
            "Table": {
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                "LatestStreamArn": STREAM,
                "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
            }
        }

    def scan(self, **kwargs: Any) -> dict[str, Any]:
        raise AssertionError("scanned before the function was checked")


class _Lambda:
    """A Lambda client whose every Invoke fails with ``code``, and that records them."""

    def __init__(self, code: str) -> None:
        self.code = code
        self.calls: list[dict[str, Any]] = []

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        raise ClientError({"Error": {"Code": self.code, "Message": "no"}}, "Invoke")


@pytest.mark.parametrize(
    ("code", "raised", "message"),
    [
        (
            "ResourceNotFoundException",
            "OperationError",
            "no function named NoSuchFn in this account and region",
        ),
        # Anything else is the AWS call's own failure (the CLI adds its hint), not "no such".
        ("AccessDeniedException", "ClientError", "(AccessDeniedException)"),
    ],
)
def test_a_backfill_checks_its_function_before_the_scan(
    tmp_path: Path, code: str, raised: str, message: str
) -> None:
    from cdk_streams.operations.backfill import Backfill
    from cdk_streams.operations.targets import FunctionTarget

    client = _Lambda(code)
    with pytest.raises(Exception) as error:
        Backfill(
            {"dynamodb": _Table()}.__getitem__,
            "Orders",
            FunctionTarget(client, "NoSuchFn"),
            checkpoint=tmp_path / "cp.json",
        )
    assert type(error.value).__name__ == raised and message in str(error.value)
    # A dry run: it runs nothing, and needs only the invoke permission a backfill needs.
    assert client.calls == [{"FunctionName": "NoSuchFn", "InvocationType": "DryRun"}]
    assert not (tmp_path / "cp.json").exists()


def test_a_redrive_checks_its_function_before_reading_a_message() -> None:
    from cdk_streams.operations.errors import OperationError
    from cdk_streams.operations.redrive import Redrive
    from cdk_streams.operations.targets import FunctionTarget

    class Untouchable:
        def __getattr__(self, name: str) -> Any:
            raise AssertionError(f"the source was used ({name}) before the function was checked")

    client = _Lambda("ResourceNotFoundException")
    with pytest.raises(OperationError) as error:
        Redrive(Untouchable(), FunctionTarget(client, "NoSuchFn"), {}.__getitem__)  # type: ignore[arg-type]
    assert str(error.value) == "no function named NoSuchFn in this account and region"
    assert client.calls == [{"FunctionName": "NoSuchFn", "InvocationType": "DryRun"}]


def test_a_local_handler_bound_at_run_time_loads(tmp_path: Path) -> None:
    from cdk_streams.operations.errors import OperationError
    from cdk_streams.operations.targets import LocalHandlerTarget

    handlers = tmp_path / "star_handlers"
    handlers.mkdir()
    (handlers / "star_impl.py").write_text(
        "def handler(event, context):\n    return {'batchItemFailures': []}\n"
    )
    # The construct's static check sees no `handler` here; importing finds it.
    (handlers / "star_entry.py").write_text("from star_impl import *\n")
    target = LocalHandlerTarget(handlers, "star_entry.handler")
    assert target.invoke({"Records": []}).ok
    # A name nothing binds is still refused in the construct's words.
    with pytest.raises(OperationError) as caught:
        LocalHandlerTarget(handlers, "star_impl.handlr")
    assert str(caught.value).endswith(
        "which star_impl.py does not define; did you mean star_impl.handler?"
    )
