"""Lambda's delivery rules for one shard (cdk_streams.streams.delivery.ShardDelivery),
against a fake function on a fake clock: partial batch responses, bisecting,
retries, record age and the on-failure record. No moto, no real time."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from cdk_streams.streams.counts import MappingCounts
from cdk_streams.streams.delivery import InvokeOutcome, ShardDelivery, Stopped
from cdk_streams.streams.on_failure import FailedBatch, destination_record
from cdk_streams.streams.settings import MappingConfig

STREAM = "arn:aws:dynamodb:us-east-1:123456789012:table/T/stream/2026-01-01T00:00:00.000"
KINESIS = "arn:aws:kinesis:us-east-1:123456789012:stream/changes"
FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:f"
QUEUE = "arn:aws:sqs:us-east-1:123456789012:dlq"
NOW = 1_800_000_000.0
UNHANDLED = {"errorType": "E", "errorMessage": "x"}


def records(n: int, *, created: float = NOW, first: int = 1000) -> list[dict[str, Any]]:
    return [
        {
            "eventName": "INSERT",
            "dynamodb": {
                "SequenceNumber": str(first + i),
                "ApproximateCreationDateTime": created,
            },
        }
        for i in range(n)
    ]


def seqs(batch: list[dict[str, Any]]) -> list[int]:
    return [int(r["dynamodb"]["SequenceNumber"]) for r in batch]


class Fake:
    """A function that fails on the sequence numbers in ``bad`` in the chosen way."""

    def __init__(self, bad: set[int], mode: str = "raise") -> None:
        self.bad, self.mode = bad, mode
        self.calls: list[list[int]] = []

    def __call__(self, event: dict[str, Any]) -> InvokeOutcome:
        batch = event["Records"]
        self.calls.append(seqs(batch))
        failing = [r for r in batch if int(r["dynamodb"]["SequenceNumber"]) in self.bad]
        if not failing:
            return InvokeOutcome("req", True, payload={"batchItemFailures": []})
        if self.mode == "raise":
            return InvokeOutcome("req", False, payload=UNHANDLED)
        first = batch.index(failing[0])
        return InvokeOutcome(
            "req",
            True,
            payload={
                "batchItemFailures": [
                    {"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in batch[first:]
                ]
            },
        )


def delivery(
    invoke: Callable[[dict[str, Any]], InvokeOutcome],
    *,
    clock: Callable[[], float] = lambda: NOW + 10,
    **settings: Any,
) -> tuple[ShardDelivery, list[FailedBatch]]:
    sent: list[FailedBatch] = []
    config = MappingConfig(
        uuid="m-1",
        function_arn=FUNCTION,
        event_source_arn=STREAM,
        on_failure=QUEUE,
        **settings,
    )
    d = ShardDelivery(
        config,
        "shardId-1",
        invoke,
        clock=clock,
        send_on_failure=lambda arn, batch: sent.append(batch),
        new_request_id=lambda: "fresh-id",
    )
    return d, sent


def test_a_successful_batch_is_checkpointed_whole() -> None:
    fake = Fake(set())
    d, sent = delivery(fake)
    d.deliver(records(5))
    assert fake.calls == [[1000, 1001, 1002, 1003, 1004]]
    assert (d.counts.succeeded, d.counts.delivered, d.counts.failed, sent) == (5, 5, 0, [])
    assert d.counts.by_event == {"INSERT": 5}
    assert d.invocation_log == [["1000", "1001", "1002", "1003", "1004"]]


def test_partial_failure_checkpoints_at_the_lowest_identifier_and_retries_from_there() -> None:
    fake = Fake({1002}, mode="partial")
    d, sent = delivery(fake, report_batch_item_failures=True, retry_attempts=2)
    d.deliver(records(5))
    # 1000-1001 checkpointed once; 1002.. retried twice, then skipped.
    assert fake.calls == [[1000, 1001, 1002, 1003, 1004]] + [[1002, 1003, 1004]] * 2
    assert (d.counts.succeeded, d.counts.failed, d.counts.retries) == (2, 3, 2)
    (batch,) = sent
    assert seqs(list(batch.records)) == [1002, 1003, 1004]
    assert (batch.condition, batch.invoke_count, batch.function_error) == (
        "RetryAttemptsExhausted",
        3,
        None,
    )
    # The function returned normally: AWS writes functionError as null, not left out.
    assert destination_record(batch)["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": None,
    }


def test_without_report_batch_item_failures_the_response_is_ignored() -> None:
    fake = Fake({1002}, mode="partial")
    d, sent = delivery(fake, report_batch_item_failures=False)
    d.deliver(records(5))
    assert len(fake.calls) == 1 and d.counts.succeeded == 5 and not sent


@pytest.mark.parametrize(
    "failures",
    [
        [{"itemIdentifier": None}],
        [{"itemIdentifier": ""}],
        [{"itemIdentifier": 1001}],
        [{"itemIdentifier": "999"}],  # not in the batch
        [{"wrongKey": "1001"}],
        ["1001"],
        "1001",
    ],
)
def test_null_empty_or_unknown_identifiers_fail_the_whole_batch(failures: Any) -> None:
    calls: list[int] = []

    def invoke(event: dict[str, Any]) -> InvokeOutcome:
        calls.append(len(event["Records"]))
        return InvokeOutcome("req", True, payload={"batchItemFailures": failures})

    d, sent = delivery(invoke, report_batch_item_failures=True, retry_attempts=1)
    d.deliver(records(3))
    assert calls == [3, 3]
    assert (d.counts.succeeded, d.counts.failed) == (0, 3)
    assert len(sent[0].records) == 3 and sent[0].invoke_count == 2


@pytest.mark.parametrize(
    "payload", [None, [], {}, {"batchItemFailures": None}, {"batchItemFailures": []}]
)
def test_empty_or_null_responses_are_success(payload: Any) -> None:
    d, _ = delivery(
        lambda e: InvokeOutcome("r", True, payload=payload), report_batch_item_failures=True
    )
    d.deliver(records(2))
    assert (d.counts.succeeded, d.counts.invocations) == (2, 1)


def test_bisecting_isolates_the_bad_record_without_using_retries() -> None:
    fake = Fake({1005})
    d, sent = delivery(fake, bisect_batch_on_error=True, retry_attempts=2)
    d.deliver(records(8))
    # 8 -> [4 ok] + [4 bad] -> [2 bad]+[2 ok]... -> the bad record alone: 1 + 2 retries.
    assert fake.calls.count([1005]) == 3
    assert d.counts.retries == 2  # only the single record's retries
    assert d.counts.bisections == 3
    assert (d.counts.succeeded, d.counts.failed) == (7, 1)
    (batch,) = sent
    assert seqs(list(batch.records)) == [1005]
    assert (batch.condition, batch.function_error) == ("RetryAttemptsExhausted", "Unhandled")
    # In order: everything before the bad record was processed before it was given up on.
    assert fake.calls[-1] == [1006, 1007]


def test_failed_batch_describes_the_skipped_range() -> None:
    d, sent = delivery(Fake({1000}), retry_attempts=0)
    d.deliver(records(2, created=NOW - 5))
    (batch,) = sent
    assert batch == FailedBatch(
        mapping_uuid="m-1",
        function_arn=FUNCTION,
        stream_arn=STREAM,
        shard_id="shardId-1",
        records=records(2, created=NOW - 5),
        condition="RetryAttemptsExhausted",
        invoke_count=1,
        request_id="req",
        function_error="Unhandled",
        failed_at=NOW + 10,
    )


def test_infinite_retries_keep_retrying_until_the_function_recovers() -> None:
    attempts = {"n": 0}

    def flaky(event: dict[str, Any]) -> InvokeOutcome:
        attempts["n"] += 1
        return InvokeOutcome("r", attempts["n"] > 20)

    d, sent = delivery(flaky, retry_attempts=-1)
    d.deliver(records(1))
    assert (attempts["n"], d.counts.succeeded, d.counts.retries, sent) == (21, 1, 20, [])


def test_records_older_than_the_maximum_age_are_skipped_without_invoking() -> None:
    fake = Fake(set())
    d, sent = delivery(fake, max_record_age=60)
    d.deliver(records(2, created=NOW - 120) + records(3, created=NOW, first=2000))
    assert fake.calls == [[2000, 2001, 2002]]
    (batch,) = sent
    assert (batch.condition, len(batch.records), batch.invoke_count) == ("RecordAgeExceeded", 2, 0)
    assert batch.request_id == "fresh-id"  # no invocation to take one from
    body = destination_record(batch)
    assert "responseContext" not in body
    assert body["requestContext"]["approximateInvokeCount"] == 1  # as AWS counts it


def test_a_record_exactly_at_the_maximum_age_is_still_delivered() -> None:
    fake = Fake(set())
    d, sent = delivery(fake, clock=lambda: NOW + 60, max_record_age=60)
    d.deliver(records(1))
    assert (fake.calls, sent) == ([[1000]], [])


def test_record_age_ends_retries_of_a_failing_batch() -> None:
    clock = {"now": NOW}

    def failing(event: dict[str, Any]) -> InvokeOutcome:
        clock["now"] += 30  # each attempt takes 30 s
        return InvokeOutcome("r", False)

    d, sent = delivery(failing, clock=lambda: clock["now"], max_record_age=60)
    d.deliver(records(1))
    assert d.counts.invocations == 3
    (batch,) = sent
    assert (batch.condition, batch.invoke_count, batch.failed_at) == (
        "RecordAgeExceeded",
        3,
        NOW + 90,
    )
    assert "responseContext" not in destination_record(batch)


def test_without_a_destination_skipped_records_are_only_counted() -> None:
    config = MappingConfig(
        uuid="m", function_arn=FUNCTION, event_source_arn=STREAM, retry_attempts=0
    )
    d = ShardDelivery(config, "s", Fake({1000}), clock=lambda: NOW)
    d.deliver(records(1))
    assert (d.counts.failed, d.counts.sent_to_on_failure, d.counts.on_failure_messages) == (1, 0, 0)


def test_stopping_gives_up_before_the_next_attempt_without_checkpointing() -> None:
    fake = Fake({1000})
    stop = {"now": False}

    def invoke(event: dict[str, Any]) -> InvokeOutcome:
        stop["now"] = True
        return fake(event)

    config = MappingConfig(uuid="m", function_arn=FUNCTION, event_source_arn=STREAM)
    d = ShardDelivery(config, "s", invoke, clock=lambda: NOW, stopping=lambda: stop["now"])
    with pytest.raises(Stopped):
        d.deliver(records(2))
    assert (len(fake.calls), d.counts.succeeded, d.counts.failed) == (1, 0, 0)


def test_kinesis_records_use_their_sequence_numbers_and_the_wrapped_event_name() -> None:
    import base64
    import json

    def kinesis(n: int) -> dict[str, Any]:
        data = json.dumps({"eventName": "MODIFY", "dynamodb": {}}).encode()
        return {
            "kinesis": {
                "sequenceNumber": str(500 + n),
                "data": base64.b64encode(data).decode(),
                "approximateArrivalTimestamp": NOW + 0.25,
            }
        }

    config = MappingConfig(
        uuid="m",
        function_arn=FUNCTION,
        event_source_arn=KINESIS,
        report_batch_item_failures=True,
        retry_attempts=0,
        on_failure=QUEUE,
    )
    sent: list[FailedBatch] = []
    d = ShardDelivery(
        config,
        "shardId-000000000000",
        lambda e: InvokeOutcome("r", True, {"batchItemFailures": [{"itemIdentifier": "501"}]}),
        clock=lambda: NOW + 1,
        send_on_failure=lambda arn, batch: sent.append(batch),
    )
    d.deliver([kinesis(0), kinesis(1)])
    assert (d.counts.succeeded, d.counts.by_event, d.counts.failed) == (1, {"MODIFY": 1}, 1)
    info = destination_record(sent[0])["KinesisBatchInfo"]
    assert (info["startSequenceNumber"], info["approximateArrivalOfFirstRecord"]) == (
        "501",
        "2027-01-15T08:00:00.250Z",
    )


def test_counts_add_and_subtract() -> None:
    a = MappingCounts(read=5, succeeded=4)
    a.by_event.update({"INSERT": 4})
    b = a.copy()
    b.read += 2
    b.by_event["MODIFY"] += 1
    diff = b - a
    assert (diff.read, diff.succeeded, dict(diff.by_event)) == (2, 0, {"MODIFY": 1})
    assert "read 5" in str(a) and "(INSERT 4)" in str(a)
    assert (a + b).read == 12
