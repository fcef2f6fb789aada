"""The on-failure record as AWS sends it (cdk_streams.streams.on_failure), case by
case against the facts recorded on real mappings: SQS/SNS body, S3 object and key."""

from __future__ import annotations

from typing import Any

import pytest

from cdk_streams.streams.on_failure import (
    FailedBatch,
    destination_record,
    iso_timestamp,
    s3_key,
    s3_object,
)

DDB_STREAM = "arn:aws:dynamodb:us-east-1:111111111111:table/orders/stream/2026-01-01T00:00:00.000"
KINESIS_STREAM = "arn:aws:kinesis:us-east-1:111111111111:stream/changes"
FUNCTION = "arn:aws:lambda:us-east-1:111111111111:function:process"
MAPPING = "a1b2c3d4-5678-90ab-cdef-111122223333"
# 2022-07-13T13:48:01Z
ARRIVAL = 1657720081.0


def ddb_record(sequence: str, arrival: float = ARRIVAL) -> dict[str, Any]:
    return {
        "eventID": "1",
        "eventName": "INSERT",
        "dynamodb": {"SequenceNumber": sequence, "ApproximateCreationDateTime": arrival},
        "eventSourceARN": DDB_STREAM,
    }


def kinesis_record(sequence: str, arrival: float) -> dict[str, Any]:
    return {
        "kinesis": {"sequenceNumber": sequence, "approximateArrivalTimestamp": arrival},
        "eventSourceARN": KINESIS_STREAM,
    }


def failed(**overrides: Any) -> FailedBatch:
    fields: dict[str, Any] = {
        "mapping_uuid": MAPPING,
        "function_arn": FUNCTION,
        "stream_arn": DDB_STREAM,
        "shard_id": "shardId-00000001764085000000-3a1b2c3d",
        "records": [ddb_record("100000000056309374601"), ddb_record("100000000056309374602")],
        "condition": "RetryAttemptsExhausted",
        "invoke_count": 4,
        "request_id": "00000000-0000-4000-8000-000000000003",
        "function_error": None,
        "failed_at": ARRIVAL + 0.25,
    }
    fields.update(overrides)
    return FailedBatch(**fields)


def test_batch_failed_through_batch_item_failures_has_a_null_function_error() -> None:
    assert destination_record(failed()) == {
        "requestContext": {
            "requestId": "00000000-0000-4000-8000-000000000003",
            "functionArn": FUNCTION,
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": 4,
        },
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": None},
        "version": "1.0",
        "timestamp": "2022-07-13T13:48:01.250Z",
        "DDBStreamBatchInfo": {
            "shardId": "shardId-00000001764085000000-3a1b2c3d",
            "startSequenceNumber": "100000000056309374601",
            "endSequenceNumber": "100000000056309374602",
            "approximateArrivalOfFirstRecord": "2022-07-13T13:48:01Z",
            "approximateArrivalOfLastRecord": "2022-07-13T13:48:01Z",
            "batchSize": 2,
            "streamArn": DDB_STREAM,
        },
    }


def test_a_function_that_raised_is_unhandled() -> None:
    record = destination_record(failed(function_error="Unhandled"))
    assert record["responseContext"]["functionError"] == "Unhandled"


@pytest.mark.parametrize("invoke_count", [0, 1, 8])
def test_record_age_exceeded_has_no_response_context(invoke_count: int) -> None:
    record = destination_record(
        failed(condition="RecordAgeExceeded", invoke_count=invoke_count, function_error="Unhandled")
    )
    assert list(record) == ["requestContext", "version", "timestamp", "DDBStreamBatchInfo"]
    assert record["requestContext"]["condition"] == "RecordAgeExceeded"
    # AWS counts one invocation when the records expired before any.
    assert record["requestContext"]["approximateInvokeCount"] == max(invoke_count, 1)


def test_kinesis_batch_info_carries_milliseconds() -> None:
    batch = failed(
        stream_arn=KINESIS_STREAM,
        shard_id="shardId-000000000000",
        records=[
            kinesis_record("49590338271490256608559692538361571095921575989136588898", ARRIVAL)
        ],
    )
    record = destination_record(batch)
    assert "DDBStreamBatchInfo" not in record
    assert record["KinesisBatchInfo"] == {
        "shardId": "shardId-000000000000",
        "startSequenceNumber": "49590338271490256608559692538361571095921575989136588898",
        "endSequenceNumber": "49590338271490256608559692538361571095921575989136588898",
        "approximateArrivalOfFirstRecord": "2022-07-13T13:48:01.000Z",
        "approximateArrivalOfLastRecord": "2022-07-13T13:48:01.000Z",
        "batchSize": 1,
        "streamArn": KINESIS_STREAM,
    }


def test_kinesis_arrival_keeps_the_millisecond_part() -> None:
    batch = failed(
        stream_arn=KINESIS_STREAM,
        records=[kinesis_record("1", ARRIVAL + 0.337), kinesis_record("2", ARRIVAL + 1.5)],
    )
    info = destination_record(batch)["KinesisBatchInfo"]
    assert info["approximateArrivalOfFirstRecord"] == "2022-07-13T13:48:01.337Z"
    assert info["approximateArrivalOfLastRecord"] == "2022-07-13T13:48:02.500Z"


def test_s3_key_uses_the_mapping_uuid_shard_and_failure_time() -> None:
    key = s3_key(failed(), object_id="5f1c8b0e-0000-4000-8000-000000000001")
    assert key == (
        f"aws/lambda/{MAPPING}/shardId-00000001764085000000-3a1b2c3d/"
        "2022/07/13/2022-07-13T13.48.01-5f1c8b0e-0000-4000-8000-000000000001"
    )


def test_s3_object_is_the_record_plus_the_invocation_payload() -> None:
    batch = failed(function_error="Unhandled")
    body = s3_object(batch)
    assert body == {**destination_record(batch), "payload": {"Records": list(batch.records)}}
    assert [r["dynamodb"]["SequenceNumber"] for r in body["payload"]["Records"]] == [
        "100000000056309374601",
        "100000000056309374602",
    ]


def test_iso_timestamps() -> None:
    assert iso_timestamp(ARRIVAL + 0.0009, millis=True) == "2022-07-13T13:48:01.000Z"
    assert iso_timestamp(ARRIVAL + 0.999, millis=False) == "2022-07-13T13:48:01Z"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"condition": "Timeout"},
            "condition must be one of RetryAttemptsExhausted, RecordAgeExceeded, got 'Timeout'",
        ),
        ({"records": []}, "a failed batch holds at least one record, got none"),
    ],
)
def test_a_failed_batch_refuses_what_aws_never_sends(overrides: dict, message: str) -> None:
    with pytest.raises(ValueError) as error:
        failed(**overrides)
    assert str(error.value) == message
