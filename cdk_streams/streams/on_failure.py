"""Lambda's on-failure record for a stream batch it gave up on, exactly as AWS sends it.

A :class:`FailedBatch` describes the skipped batch; from it:

* :func:`destination_record` is the SQS message body and the SNS message:
  where the batch is in the stream (shard, sequence range, arrival times), not
  the records;
* :func:`s3_object` is what an S3 destination receives: that record plus
  ``payload``, the invocation event with the records;
* :func:`s3_key` is the object's key,
  ``aws/lambda/<mapping UUID>/<shardId>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<uuid>``.

What AWS writes, as recorded on real mappings:

* ``timestamp`` carries milliseconds (``2022-07-13T13:48:01.000Z``);
* ``approximateArrivalOf{First,Last}Record`` carry milliseconds in
  ``KinesisBatchInfo`` and whole seconds in ``DDBStreamBatchInfo``;
* after ``RetryAttemptsExhausted``, ``responseContext.functionError`` is
  ``"Unhandled"`` when the function raised and present but null when it
  returned normally and reported the failure in ``batchItemFailures``;
* a ``RecordAgeExceeded`` record has no ``responseContext``, and counts at
  least one invocation even when the records expired before any.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .records import shape_of

#: The retries ran out (``retry_attempts``).
RETRY_ATTEMPTS_EXHAUSTED = "RetryAttemptsExhausted"
#: The records grew older than ``max_record_age``.
RECORD_AGE_EXCEEDED = "RecordAgeExceeded"
CONDITIONS = (RETRY_ATTEMPTS_EXHAUSTED, RECORD_AGE_EXCEEDED)


@dataclass(frozen=True)
class FailedBatch:
    """A batch Lambda skipped, with what its on-failure record says about it.

    :param mapping_uuid: the mapping's UUID (part of the S3 key).
    :param function_arn: the mapping's function.
    :param stream_arn: the event source (DynamoDB stream or Kinesis stream).
    :param shard_id: the shard the records come from.
    :param records: the skipped records, as the function receives them, in order.
    :param condition: ``RetryAttemptsExhausted`` or ``RecordAgeExceeded``.
    :param invoke_count: invocations of these records so far.
    :param request_id: the last invocation's request id (or a fresh one).
    :param function_error: the last invocation's function error (``"Unhandled"``),
        None when it returned normally.
    :param failed_at: epoch seconds Lambda gave up: the record's ``timestamp``.
    """

    mapping_uuid: str
    function_arn: str
    stream_arn: str
    shard_id: str
    records: Sequence[Mapping[str, Any]]
    condition: str
    invoke_count: int
    request_id: str
    function_error: str | None
    failed_at: float

    def __post_init__(self) -> None:
        if self.condition not in CONDITIONS:
            raise ValueError(
                f"condition must be one of {', '.join(CONDITIONS)}, got {self.condition!r}"
            )
        if not self.records:
            raise ValueError("a failed batch holds at least one record, got none")


def iso_timestamp(epoch: float, *, millis: bool) -> str:
    """``2022-07-13T13:48:01.000Z`` (``millis``) or ``2022-07-13T13:48:01Z``, in UTC."""
    moment = datetime.fromtimestamp(epoch, UTC)
    if millis:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def destination_record(batch: FailedBatch) -> dict[str, Any]:
    """The on-failure record: an SQS message body or SNS message (as a JSON object)."""
    shape = shape_of(batch.stream_arn)
    first, last = batch.records[0], batch.records[-1]
    aged_out = batch.condition == RECORD_AGE_EXCEEDED
    out: dict[str, Any] = {
        "requestContext": {
            "requestId": batch.request_id,
            "functionArn": batch.function_arn,
            "condition": batch.condition,
            "approximateInvokeCount": max(batch.invoke_count, 1)
            if aged_out
            else batch.invoke_count,
        }
    }
    if not aged_out:
        out["responseContext"] = {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": batch.function_error,
        }
    out["version"] = "1.0"
    out["timestamp"] = iso_timestamp(batch.failed_at, millis=True)
    out[shape.batch_info_key] = {
        "shardId": batch.shard_id,
        "startSequenceNumber": shape.sequence(first),
        "endSequenceNumber": shape.sequence(last),
        "approximateArrivalOfFirstRecord": iso_timestamp(
            shape.arrival(first) or 0.0, millis=shape.arrival_millis
        ),
        "approximateArrivalOfLastRecord": iso_timestamp(
            shape.arrival(last) or 0.0, millis=shape.arrival_millis
        ),
        "batchSize": len(batch.records),
        "streamArn": batch.stream_arn,
    }
    return out


def s3_object(batch: FailedBatch) -> dict[str, Any]:
    """What an S3 destination receives: the on-failure record plus the invocation payload."""
    return {**destination_record(batch), "payload": {"Records": list(batch.records)}}


def s3_key(batch: FailedBatch, *, object_id: str) -> str:
    """The S3 object key AWS writes the batch under.

    :param object_id: the key's unique tail (AWS uses a random UUID).
    """
    stamp = datetime.fromtimestamp(batch.failed_at, UTC).strftime("%Y/%m/%d/%Y-%m-%dT%H.%M.%S")
    return f"aws/lambda/{batch.mapping_uuid}/{batch.shard_id}/{stamp}-{object_id}"
