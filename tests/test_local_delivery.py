"""Lambda's delivery rules for one shard (cdk_streams.local.runner.ShardDelivery),
against a fake function: partial batch responses, bisecting, retries, record age
and the on-failure record."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from cdk_streams.local.invoker import InvocationResult
from cdk_streams.local.runner import MappingConfig, MappingCounts, ShardDelivery

STREAM = "arn:aws:dynamodb:us-east-1:123456789012:table/T/stream/2026-01-01T00:00:00.000"
FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:f"
QUEUE = "arn:aws:sqs:us-east-1:123456789012:dlq"
NOW = 1_800_000_000.0


def records(n: int, *, created: float = NOW) -> list[dict[str, Any]]:
    return [
        {
            "eventName": "INSERT",
            "dynamodb": {"SequenceNumber": str(1000 + i), "ApproximateCreationDateTime": created},
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

    def __call__(self, event: dict[str, Any]) -> InvocationResult:
        batch = event["Records"]
        self.calls.append(seqs(batch))
        failing = [r for r in batch if int(r["dynamodb"]["SequenceNumber"]) in self.bad]
        if not failing:
            return InvocationResult("req", True, payload={"batchItemFailures": []})
        if self.mode == "raise":
            return InvocationResult("req", False, error={"errorType": "E", "errorMessage": "x"})
        first = batch.index(failing[0])
        return InvocationResult(
            "req",
            True,
            payload={
                "batchItemFailures": [
                    {"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in batch[first:]
                ]
            },
        )


def delivery(
    invoke: Callable[[dict[str, Any]], InvocationResult], **settings: Any
) -> tuple[ShardDelivery, list[dict[str, Any]]]:
    sent: list[dict[str, Any]] = []
    config = MappingConfig(
        uuid="m-1",
        function_arn=FUNCTION,
        event_source_arn=STREAM,
        on_failure_arn=QUEUE,
        **settings,
    )
    return (
        ShardDelivery(
            config,
            "shardId-1",
            invoke,
            send_on_failure=lambda arn, record, event: sent.append(record),
            wall_clock=lambda: NOW + 10,
        ),
        sent,
    )


def test_a_successful_batch_is_checkpointed_whole() -> None:
    fake = Fake(set())
    d, sent = delivery(fake)
    d.deliver(records(5))
    assert fake.calls == [[1000, 1001, 1002, 1003, 1004]]
    assert (d.counts.succeeded, d.counts.delivered, d.counts.failed, sent) == (5, 5, 0, [])
    assert d.counts.by_event == {"INSERT": 5}


def test_partial_failure_checkpoints_at_the_lowest_identifier_and_retries_from_there() -> None:
    fake = Fake({1002}, mode="partial")
    d, sent = delivery(fake, report_batch_item_failures=True, maximum_retry_attempts=2)
    d.deliver(records(5))
    # 1000-1001 checkpointed once; 1002.. retried twice, then skipped.
    assert fake.calls == [[1000, 1001, 1002, 1003, 1004]] + [[1002, 1003, 1004]] * 2
    assert (d.counts.succeeded, d.counts.failed, d.counts.retries) == (2, 3, 2)
    (record,) = sent
    assert record["DDBStreamBatchInfo"]["startSequenceNumber"] == "1002"
    assert record["DDBStreamBatchInfo"]["endSequenceNumber"] == "1004"
    assert record["DDBStreamBatchInfo"]["batchSize"] == 3
    assert "functionError" not in record["responseContext"]  # the function returned normally


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
        [{"itemIdentifier": "999"}],  # not in the batch
        [{"wrongKey": "1001"}],
        ["1001"],
        "1001",
    ],
)
def test_null_empty_or_unknown_identifiers_fail_the_whole_batch(failures: Any) -> None:
    calls: list[int] = []

    def invoke(event: dict[str, Any]) -> InvocationResult:
        calls.append(len(event["Records"]))
        return InvocationResult("req", True, payload={"batchItemFailures": failures})

    d, sent = delivery(invoke, report_batch_item_failures=True, maximum_retry_attempts=1)
    d.deliver(records(3))
    assert calls == [3, 3]
    assert (d.counts.succeeded, d.counts.failed) == (0, 3)
    assert sent[0]["DDBStreamBatchInfo"]["batchSize"] == 3


@pytest.mark.parametrize(
    "payload", [None, {}, {"batchItemFailures": None}, {"batchItemFailures": []}]
)
def test_empty_or_null_responses_are_success(payload: Any) -> None:
    d, _ = delivery(
        lambda e: InvocationResult("r", True, payload=payload), report_batch_item_failures=True
    )
    d.deliver(records(2))
    assert d.counts.succeeded == 2


def test_bisecting_isolates_the_bad_record_without_using_retries() -> None:
    fake = Fake({1005})
    d, sent = delivery(fake, bisect_on_error=True, maximum_retry_attempts=2)
    d.deliver(records(8))
    # 8 -> [4 ok] + [4 bad] -> [2 bad]+[2 ok]... -> the bad record alone: 1 + 2 retries.
    assert fake.calls.count([1005]) == 3
    assert d.counts.retries == 2  # only the single record's retries
    assert (d.counts.succeeded, d.counts.failed) == (7, 1)
    (record,) = sent
    info = record["DDBStreamBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == (
        "1005",
        "1005",
        1,
    )
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["responseContext"]["functionError"] == "Unhandled"
    # In order: everything before the bad record was processed before it was given up on.
    assert fake.calls[-1] == [1006, 1007]


def test_on_failure_record_has_lambdas_shape() -> None:
    d, sent = delivery(Fake({1000}), maximum_retry_attempts=0)
    d.deliver(records(2, created=NOW - 5))
    (record,) = sent
    assert set(record) == {
        "requestContext",
        "responseContext",
        "version",
        "timestamp",
        "DDBStreamBatchInfo",
    }
    assert record["requestContext"] == {
        "requestId": "req",
        "functionArn": FUNCTION,
        "condition": "RetryAttemptsExhausted",
        "approximateInvokeCount": 1,
    }
    assert record["version"] == "1.0"
    assert record["timestamp"].endswith("Z") and "." in record["timestamp"]
    assert record["DDBStreamBatchInfo"] == {
        "shardId": "shardId-1",
        "startSequenceNumber": "1000",
        "endSequenceNumber": "1001",
        "approximateArrivalOfFirstRecord": "2027-01-15T07:59:55Z",
        "approximateArrivalOfLastRecord": "2027-01-15T07:59:55Z",
        "batchSize": 2,
        "streamArn": STREAM,
    }


def test_infinite_retries_keep_retrying_until_the_function_recovers() -> None:
    attempts = {"n": 0}

    def flaky(event: dict[str, Any]) -> InvocationResult:
        attempts["n"] += 1
        return InvocationResult("r", attempts["n"] > 20)

    d, sent = delivery(flaky, maximum_retry_attempts=-1)
    d.deliver(records(1))
    assert (attempts["n"], d.counts.succeeded, d.counts.retries, sent) == (21, 1, 20, [])


def test_records_older_than_the_maximum_age_are_skipped_without_invoking() -> None:
    fake = Fake(set())
    d, sent = delivery(fake, maximum_record_age=60)
    old, new = records(2, created=NOW - 120), records(3, created=NOW)
    for i, r in enumerate(new):
        r["dynamodb"]["SequenceNumber"] = str(2000 + i)
    d.deliver(old + new)
    assert fake.calls == [[2000, 2001, 2002]]
    (record,) = sent
    assert record["requestContext"]["condition"] == "RecordAgeExceeded"
    assert record["DDBStreamBatchInfo"]["batchSize"] == 2


def test_record_age_ends_retries_of_a_failing_batch() -> None:
    clock = {"now": NOW}

    def failing(event: dict[str, Any]) -> InvocationResult:
        clock["now"] += 30  # each attempt takes 30 s
        return InvocationResult("r", False, error={"errorType": "E", "errorMessage": "x"})

    config = MappingConfig(
        uuid="m",
        function_arn=FUNCTION,
        event_source_arn=STREAM,
        on_failure_arn=QUEUE,
        maximum_record_age=60,
    )
    sent: list[dict[str, Any]] = []
    d = ShardDelivery(
        config,
        "s",
        failing,
        send_on_failure=lambda a, r, e: sent.append(r),
        wall_clock=lambda: clock["now"],
    )
    d.deliver(records(1))
    assert d.counts.invocations == 3
    assert sent[0]["requestContext"]["condition"] == "RecordAgeExceeded"


def test_without_a_destination_skipped_records_are_only_counted() -> None:
    config = MappingConfig(
        uuid="m", function_arn=FUNCTION, event_source_arn=STREAM, maximum_retry_attempts=0
    )
    d = ShardDelivery(config, "s", Fake({1000}))
    d.deliver(records(1))
    assert (d.counts.failed, d.counts.sent_to_on_failure, d.counts.on_failure_messages) == (1, 0, 0)


def test_counts_add_and_subtract() -> None:
    a = MappingCounts(read=5, succeeded=4)
    a.by_event.update({"INSERT": 4})
    b = a.copy()
    b.read += 2
    b.by_event["MODIFY"] += 1
    diff = b - a
    assert (diff.read, diff.succeeded, dict(diff.by_event)) == (2, 0, {"MODIFY": 1})
    assert "read 5" in str(a) and "(INSERT 4)" in str(a)


def test_mapping_config_from_the_lambda_api() -> None:
    config = MappingConfig.from_api(
        {
            "UUID": "u",
            "FunctionArn": FUNCTION,
            "EventSourceArn": STREAM,
            "StartingPosition": "LATEST",
            "BatchSize": 100,
            "MaximumBatchingWindowInSeconds": 5,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "BisectBatchOnFunctionError": True,
            "MaximumRetryAttempts": 10,
            "MaximumRecordAgeInSeconds": 3600,
            "DestinationConfig": {"OnFailure": {"Destination": QUEUE}},
            "FilterCriteria": {"Filters": [{"Pattern": '{"eventName": ["INSERT"]}'}]},
            "State": "Enabled",
        }
    )
    assert (config.starting_position, config.batch_size, config.batching_window) == (
        "LATEST",
        100,
        5.0,
    )
    assert config.report_batch_item_failures and config.bisect_on_error
    assert (config.maximum_retry_attempts, config.maximum_record_age) == (10, 3600)
    assert config.on_failure_arn == QUEUE and config.record_filter
    assert (config.function_name, config.table_name) == ("f", "T")
    defaults = MappingConfig.from_api(
        {"UUID": "u", "FunctionArn": FUNCTION, "EventSourceArn": STREAM}
    )
    assert (defaults.maximum_retry_attempts, defaults.maximum_record_age) == (-1, -1)
    assert not defaults.report_batch_item_failures and defaults.on_failure_arn is None


class FakeReader:
    """One shard holding ``records``; raises ``error`` on read when given."""

    def __init__(self, records: list[dict[str, Any]], error: Exception | None = None) -> None:
        self.records, self.error = records, error

    def start(self) -> None:
        pass

    def readable(self) -> list[str]:
        return ["s"]

    def parent_of(self, shard_id: str) -> None:
        return None

    def read(self) -> list[Any]:
        from cdk_streams.streams.shard_reader import ShardRecords

        if self.error:
            raise self.error
        out, self.records = self.records, []
        return [ShardRecords("s", out)]


def raw(n: int) -> list[dict[str, Any]]:
    return [
        {
            "eventID": str(i),
            "eventName": "INSERT",
            "dynamodb": {"SequenceNumber": str(i), "Keys": {}},
        }
        for i in range(n)
    ]


def test_drain_times_out_on_a_record_that_blocks_its_shard() -> None:
    from cdk_streams.local.runner import DrainTimeout, EventSourceRunner, MappingRunner

    config = MappingConfig(uuid="m", function_arn=FUNCTION, event_source_arn=STREAM)
    runner = EventSourceRunner(poll_interval=0.01, settle=0.05)
    failing = lambda event: InvocationResult("r", False, error={"errorType": "E"})  # noqa: E731
    runner.add(MappingRunner(config, FakeReader(raw(1)), failing))
    try:
        with pytest.raises(DrainTimeout) as error:
            runner.drain(timeout=0.3)
    finally:
        runner.stop()
    assert "drain: not idle after 0 s; still busy: T -> f." in str(error.value)
    assert "MaximumRetryAttempts -1 blocks its shard" in str(error.value)


def test_a_failing_aws_call_stops_the_mapping_and_drain_says_why() -> None:
    from cdk_streams.local.runner import EventSourceRunner, MappingRunner, RunnerError

    config = MappingConfig(uuid="m", function_arn=FUNCTION, event_source_arn=STREAM)
    runner = EventSourceRunner(poll_interval=0.01, settle=0.05)
    runner.add(MappingRunner(config, FakeReader([], OSError("connection refused")), Fake(set())))
    try:
        with pytest.raises(RunnerError, match=r"mapping m \(T -> f\) stopped: OSError: connection"):
            runner.drain(timeout=5)
    finally:
        runner.stop()


def test_batches_follow_batch_size_and_drain_reports_since_the_last_drain() -> None:
    from cdk_streams.local.runner import EventSourceRunner, MappingRunner

    config = MappingConfig(uuid="m", function_arn=FUNCTION, event_source_arn=STREAM, batch_size=4)
    fake = Fake(set())
    runner = EventSourceRunner(poll_interval=0.01, settle=0.05)
    runner.add(MappingRunner(config, FakeReader(raw(10)), fake))
    try:
        first = runner.drain(timeout=5)
        second = runner.drain(timeout=5)
    finally:
        runner.stop()
    assert [len(call) for call in fake.calls] == [4, 4, 2]
    assert (first.totals.succeeded, second.totals.succeeded) == (10, 0)
    assert "drained 1 mapping(s)" in str(first) and "T -> f: read 10" in str(first)
